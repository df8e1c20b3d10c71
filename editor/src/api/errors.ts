import type { Problem, ValidationProblem } from './models';

/**
 * An error answer's body: the API's problem+json (`Problem` in the OpenAPI document), or
 * what `problemOf` makes of another body (a proxy's page, no body at all), hence partial.
 */
export type ProblemDetails = Partial<Problem> & {
  /** A save answered 409: the flow's revision now. */
  current_revision?: number;
};

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

/** The problem of an error answer, from its body as openapi-fetch read it (JSON, else text). */
export function problemOf(response: Response, body: unknown): ProblemDetails {
  if (body && typeof body === 'object') {
    const problem = body as ProblemDetails & { detail?: unknown };
    // FastAPI's default error shape is {"detail": [...]}: read it as a list of problems.
    if (Array.isArray(problem.detail) && !problem.errors) {
      return { status: response.status, title: response.statusText, errors: problem.detail as ValidationProblem[] };
    }
    return { status: response.status, ...problem } as ProblemDetails;
  }
  const text = typeof body === 'string' ? body : '';
  return {
    status: response.status,
    title: response.statusText || `HTTP ${response.status}`,
    detail: text.slice(0, 500) || undefined,
  };
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
