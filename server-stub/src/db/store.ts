import type { Statement } from 'better-sqlite3';
import type { Db } from './database.js';

/**
 * The one SQLite connection every resource's store runs its statements on (better-sqlite3,
 * synchronous by design: SQLite answers in microseconds and a transaction cannot interleave
 * with another request). Each resource keeps its own SQL in its folder (`panels/store.ts`,
 * `commands/store.ts`, …); they share this statement cache and its transactions.
 */
export class Store {
  private readonly statements = new Map<string, Statement>();
  /** Statements handed out so far: lets a test prove a path never touches the database. */
  queryCount = 0;

  constructor(readonly db: Db) {}

  sql(text: string): Statement {
    this.queryCount++;
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  /**
   * Takes `count` consecutive display revisions and returns the first of them: one counter
   * for the whole backend, persisted, never reused.
   */
  takeRevisions(count: number): number {
    if (!Number.isInteger(count) || count < 1) throw new Error(`takeRevisions: count must be a positive integer, got ${count}`);
    const row = this.sql("UPDATE counters SET value = value + ? WHERE name = 'display_revision' RETURNING value").get(count) as {
      value: number;
    };
    return row.value - count + 1;
  }
}
