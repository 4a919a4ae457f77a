import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { effectScope, reactive, type EffectScope } from 'vue';
import type { OperationId } from '@airpanel/contract/api';
import { useResourceList } from './use-resource-list.js';

interface Thing {
  id: string;
  name: string;
}

const route = reactive({ query: {} as Record<string, string> });
const router = { replace: vi.fn(async (to: { query: Record<string, string> }) => void (route.query = to.query)) };
const allowed = new Set<OperationId>();
const listPanels = vi.fn();

vi.mock('vue-router', () => ({ useRoute: () => route, useRouter: () => router }));
vi.mock('../lib/session.js', () => ({ canCall: (operationId: OperationId) => allowed.has(operationId) }));
// The real module builds the API client from `window.location` when imported.
vi.mock('../lib/api.js', () => ({
  api: { call: (operationId: string) => (operationId === 'listPanels' ? listPanels() : Promise.reject(new Error(operationId))) },
  describeError: (error: unknown) => (error instanceof Error ? error.message : String(error)),
}));

let scope: EffectScope;
beforeEach(() => {
  scope = effectScope();
  route.query = {};
  router.replace.mockClear();
  allowed.clear();
  listPanels.mockResolvedValue([
    { id: 'p1', levelSchemeId: 'a' },
    { id: 'p2', levelSchemeId: 'a' },
    { id: 'p3', levelSchemeId: 'b' },
  ]);
  // Outside a component there is nothing to mount: the tests call load() themselves.
  vi.spyOn(console, 'warn').mockImplementation(() => {});
});
afterEach(() => {
  scope.stop();
  vi.restoreAllMocks();
});

function list(things: Thing[] = [{ id: 'a', name: 'A' }], alsoLoad?: () => Promise<void>) {
  return scope.run(() =>
    useResourceList<Thing>({
      queryKey: 'thing',
      operations: { create: 'createLevelScheme', replace: 'replaceLevelScheme', delete: 'deleteLevelScheme' },
      list: async () => things.map((t) => ({ ...t })),
      usedByField: 'levelSchemeId',
      ...(alsoLoad ? { alsoLoad } : {}),
    }),
  )!;
}

describe('resource list, with the API, session and router as mocks', () => {
  it('reads the items and the panels, and counts the panels using each item', async () => {
    const state = list([
      { id: 'a', name: 'A' },
      { id: 'b', name: 'B' },
    ]);
    expect(state.loading.value).toBe(true);
    await state.load();
    expect(state.loading.value).toBe(false);
    expect(state.items.value.map((t) => t.id)).toEqual(['a', 'b']);
    expect(state.usedBy('a')).toBe(2);
    expect(state.usedBy('b')).toBe(1);
    expect(state.usedBy('c')).toBe(0);
  });

  it('shows a failed read, of the list or of what is read with it', async () => {
    const state = list(undefined, async () => {
      throw new Error('The backend did not answer.');
    });
    await state.load();
    expect(state.error.value).toBe('The backend did not answer.');
    expect(state.loading.value).toBe(false);
  });

  it('selects the item named in the URL', async () => {
    const state = list();
    await state.load();
    route.query = { thing: 'a' };
    expect(state.selected.value).toEqual({ id: 'a', name: 'A' });
    route.query = { thing: 'b' };
    expect(state.selected.value).toBeNull();
    expect(state.newLink).toEqual({ query: { thing: 'new' } });
    expect(state.linkTo('a')).toEqual({ query: { thing: 'a' } });
  });

  it('opens a new item only for a role that may create one', () => {
    route.query = { thing: 'new' };
    expect(list().creating.value).toBe(false);
    allowed.add('createLevelScheme');
    const state = list();
    expect(state.creating.value).toBe(true);
    expect(state.selected.value).toBeNull();
    expect(state.canSave.value).toBe(false);
    expect(state.canDelete.value).toBe(false);
  });

  it('takes what the editor saved: a change in place, a new item appended and named in the URL', async () => {
    const state = list();
    await state.load();
    await state.onSaved({ id: 'a', name: 'A2' }, false);
    expect(state.items.value).toEqual([{ id: 'a', name: 'A2' }]);
    expect(router.replace).not.toHaveBeenCalled();
    await state.onSaved({ id: 'n', name: 'N' }, true);
    expect(state.items.value.map((t) => t.id)).toEqual(['a', 'n']);
    expect(router.replace).toHaveBeenCalledWith({ query: { thing: 'n' } });
    expect(state.selectedId.value).toBe('n');
  });

  it('drops a deleted item and leaves the editor', async () => {
    const state = list();
    await state.load();
    route.query = { thing: 'a' };
    await state.onDeleted('a');
    expect(state.items.value).toEqual([]);
    expect(state.selectedId.value).toBeNull();
  });
});
