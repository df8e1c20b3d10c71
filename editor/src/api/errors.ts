import type { ProblemDetails, ValidationProblem } from './types';

/** An answer of the API that is not 2xx, carrying its problem+json body. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: ProblemDetails;

  constructor(status: number, problem: ProblemDetails) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }

  get problems(): ValidationProblem[] {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

/** The API could not be reached at all (network down, server stopped, gateway error). */
export class ApiUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApiUnreachableError';
  }
}

export function isApiError(error: unknown, status?: number): error is ApiError {
  return error instanceof ApiError && (status === undefined || error.status === status);
}

/** A short text for a user, from any error a call may raise. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const head =
      error.problem.title && error.problem.detail ? `${error.problem.title}: ${error.problem.detail}` : error.message;
    const details = error.problems.map((p) => `${p.loc.join('.')}: ${p.msg}`);
    return [head, ...details].join('\n');
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
