// The one implementation behind content sets, level schemes and sensor sources, over a real
// SQLite database: ids, conflicts, the default, "in use", and what follows each change.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONTENT_SET, DEFAULT_LEVEL_SCHEME, Panel } from '@airpanel/contract';
import { CONTENT_SETS, type ContentSetService } from '../content-sets/content-sets.js';
import { openDatabase, type Db } from '../db/database.js';
import { Store } from '../db/store.js';
import { ServiceError } from '../errors.js';
import { LEVEL_SCHEMES } from '../level-schemes/level-schemes.js';
import { PanelStore } from '../panels/store.js';
import { makeTempDir } from '../test-support.js';
import { DefinitionService } from './service.js';
import { DefinitionStore } from './store.js';

const clock = { now: () => Date.parse('2026-03-01T12:00:00Z') };
const { id: _defaultId, ...contentBody } = DEFAULT_CONTENT_SET;

function errorOf(work: () => unknown): ServiceError {
  try {
    work();
  } catch (error) {
    if (error instanceof ServiceError) return error;
    throw error;
  }
  throw new Error('expected a ServiceError');
}

describe('DefinitionService (content sets here; level schemes and sensor sources use the same code)', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let db: Db;
  let panels: PanelStore;
  let events: string[];
  let service: ContentSetService;

  beforeEach(() => {
    temp = makeTempDir();
    db = openDatabase(temp.dir);
    const store = new Store(db);
    panels = new PanelStore(store);
    events = [];
    service = new DefinitionService(
      CONTENT_SETS,
      { store, definitions: new DefinitionStore(store, CONTENT_SETS.table, CONTENT_SETS.parse), panels, clock },
      {
        afterCreate: (id) => events.push(`created ${id}`),
        afterReplace: async (id) => void events.push(`replaced ${id}`),
        afterDelete: (id) => events.push(`deleted ${id}`),
      },
    );
    service.seed(DEFAULT_CONTENT_SET);
    // A panel refers to a level scheme too (a foreign key).
    new DefinitionStore(store, LEVEL_SCHEMES.table, LEVEL_SCHEMES.parse).put(DEFAULT_LEVEL_SCHEME, new Date(clock.now()).toISOString());
  });
  afterEach(() => {
    db.close();
    temp.remove();
  });

  it('creates with a chosen or a generated id, refuses a taken one, and lists by id', () => {
    expect(service.create({ ...contentBody, id: 'city' }).id).toBe('city');
    const generated = service.create({ ...contentBody });
    expect(generated.id).toMatch(/^content-[0-9a-f]{8}$/);
    const conflict = errorOf(() => service.create({ ...contentBody, id: 'city' }));
    expect([conflict.kind, conflict.code, conflict.message]).toEqual(['conflict', 'already-exists', 'content set "city" already exists']);
    expect(service.list().map((c) => c.id)).toEqual([...[DEFAULT_CONTENT_SET.id, 'city', generated.id]].sort());
    expect(events).toEqual(['created city', `created ${generated.id}`]);
  });

  it('answers 404 for an unknown id on get, replace and delete', async () => {
    expect(errorOf(() => service.get('nowhere')).kind).toBe('not-found');
    await expect(service.replace('nowhere', contentBody)).rejects.toMatchObject({
      kind: 'not-found',
      message: 'content set "nowhere" does not exist',
    });
    expect(errorOf(() => service.delete('nowhere')).kind).toBe('not-found');
    expect(events).toEqual([]);
  });

  it('replaces under the same id and waits for what follows', async () => {
    service.create({ ...contentBody, id: 'city' });
    const replaced = await service.replace('city', { ...contentBody, locale: 'fr' });
    expect(replaced).toMatchObject({ id: 'city', locale: 'fr' });
    expect(service.get('city').locale).toBe('fr');
    expect(events).toEqual(['created city', 'replaced city']);
  });

  it('refuses to delete the default or one a panel uses, naming the panels; deletes one nobody uses', () => {
    service.create({ ...contentBody, id: 'city' });
    panels.insert(
      Panel.parse({
        id: 'panel-1',
        name: 'One',
        location: null,
        sensorSourceId: null,
        contentSetId: 'city',
        levelSchemeId: DEFAULT_LEVEL_SCHEME.id,
        createdAt: new Date(clock.now()).toISOString(),
      }),
      Buffer.alloc(32),
    );
    const inUse = errorOf(() => service.delete('city'));
    expect([inUse.kind, inUse.code, inUse.details]).toEqual(['conflict', 'in-use', { panelIds: ['panel-1'] }]);
    const theDefault = errorOf(() => service.delete(DEFAULT_CONTENT_SET.id));
    expect([theDefault.kind, theDefault.code]).toEqual(['conflict', 'default-resource']);
    panels.delete('panel-1');
    service.delete('city');
    expect(service.exists('city')).toBe(false);
    expect(events).toEqual(['created city', 'deleted city']);
  });
});
