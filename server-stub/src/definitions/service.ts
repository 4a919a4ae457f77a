import type { Clock } from '../clock.js';
import type { Store } from '../db/store.js';
import { ServiceError, notFound } from '../errors.js';
import { freshId } from '../ids.js';
import type { PanelReference, PanelStore } from '../panels/store.js';
import type { DefinitionStore, DefinitionTable } from './store.js';

/** What differs between content sets, level schemes and sensor sources. */
export interface DefinitionKind<T extends { id: string }> {
  /** How messages name one, e.g. `level scheme`. */
  what: string;
  table: DefinitionTable;
  /** Prefix of generated ids, e.g. `scheme` → `scheme-1a2b3c4d`. */
  idPrefix: string;
  /** The panels column that refers to one. */
  reference: PanelReference;
  /** The contract schema of a stored one (with its id). */
  parse(json: unknown): T;
  /** The one new panels get, which cannot be deleted. */
  defaultId?: string;
}

/** What follows a change: documents reissued, a source fetched again. */
export interface DefinitionHooks {
  afterCreate?(id: string): void;
  /** Awaited before the replace answers (a fleet-wide reissue). */
  afterReplace?(id: string): void | Promise<void>;
  afterDelete?(id: string): void;
}

/**
 * List, get, create, replace and delete of a definition panels refer to, written once for the
 * three of them: a chosen or generated id, 409 for a taken id, 404 for an unknown one, and a
 * delete refused (409) while a panel uses it or when it is the default.
 */
export class DefinitionService<T extends { id: string }, CreateBody extends { id?: string | undefined }, Body> {
  private readonly store: DefinitionStore<T>;

  constructor(
    private readonly kind: DefinitionKind<T>,
    private readonly deps: { store: Store; definitions: DefinitionStore<T>; panels: PanelStore; clock: Clock },
    private readonly hooks: DefinitionHooks = {},
  ) {
    this.store = deps.definitions;
  }

  private nowIso(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }

  list(): T[] {
    return this.store.list();
  }

  get(id: string): T {
    const item = this.store.get(id);
    if (!item) throw notFound(this.kind.what, id);
    return item;
  }

  exists(id: string): boolean {
    return this.store.exists(id);
  }

  /** Stores `item` unless one with its id exists (first start's defaults). */
  seed(item: T): void {
    if (!this.store.exists(item.id)) this.store.put(item, this.nowIso());
  }

  create(body: CreateBody): T {
    const id = body.id ?? freshId(this.kind.idPrefix, (candidate) => this.store.exists(candidate));
    const item = this.kind.parse({ ...body, id });
    this.deps.store.transaction(() => {
      if (this.store.exists(id)) throw new ServiceError('conflict', 'already-exists', `${this.kind.what} "${id}" already exists`);
      this.store.put(item, this.nowIso());
    });
    this.hooks.afterCreate?.(id);
    return item;
  }

  async replace(id: string, body: Body): Promise<T> {
    this.get(id);
    const item = this.kind.parse({ ...body, id });
    this.store.put(item, this.nowIso());
    await this.hooks.afterReplace?.(id);
    return item;
  }

  delete(id: string): void {
    this.get(id);
    if (id === this.kind.defaultId) {
      throw new ServiceError(
        'conflict',
        'default-resource',
        `${this.kind.what} "${id}" is the default for new panels and cannot be deleted`,
      );
    }
    const users = this.deps.panels.idsUsing(this.kind.reference, id);
    if (users.length > 0) {
      throw new ServiceError('conflict', 'in-use', `${this.kind.what} "${id}" is used by ${users.length} panel(s); reassign them first`, {
        panelIds: users.slice(0, 50),
      });
    }
    this.store.delete(id);
    this.hooks.afterDelete?.(id);
  }
}
