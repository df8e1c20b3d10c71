import cronstrue from 'cronstrue';
import { CronExpressionParser } from 'cron-parser';

export interface CronPreview {
  valid: boolean;
  description: string;
  next: Date[];
  error?: string;
}

/** 5 fields, or 6 with seconds first (api.md, schedule triggers). */
export function cronFieldCount(expression: string): number {
  return expression.trim().split(/\s+/).filter(Boolean).length;
}

/** A readable sentence and the next fire times, computed here, in the trigger's timezone. */
export function previewCron(expression: string, timezone = 'UTC', count = 5, from: Date = new Date()): CronPreview {
  const fields = cronFieldCount(expression);
  if (fields !== 5 && fields !== 6) {
    return {
      valid: false,
      description: '',
      next: [],
      error: 'A cron expression has 5 fields (minute hour day month weekday), or 6 with seconds first.',
    };
  }
  try {
    const description = cronstrue.toString(expression, { use24HourTimeFormat: true, verbose: false });
    const parsed = CronExpressionParser.parse(expression, { tz: timezone || 'UTC', currentDate: from });
    const next: Date[] = [];
    for (let i = 0; i < count; i += 1) next.push(parsed.next().toDate());
    return { valid: true, description, next };
  } catch (error) {
    return { valid: false, description: '', next: [], error: error instanceof Error ? error.message : String(error) };
  }
}

export function formatInZone(date: Date, timezone: string): string {
  try {
    return new Intl.DateTimeFormat(undefined, {
      dateStyle: 'medium',
      timeStyle: 'long',
      timeZone: timezone || 'UTC',
    }).format(date);
  } catch {
    return date.toISOString();
  }
}
