import { computed, onMounted, ref, type ComputedRef, type Ref } from 'vue';
import { useRoute, useRouter } from 'vue-router';
import type { PanelSummary } from '@airpanel/contract';
import type { OperationId } from '@airpanel/contract/api';
import { api, describeError } from '../lib/api.js';
import { canCall } from '../lib/session.js';

export interface ResourceListOptions<R extends { id: string }> {
  /** The query parameter naming the item in the editor (`new` for a new one), e.g. `scheme`. */
  queryKey: string;
  /** The operations whose roles decide what the user may do here. */
  operations: { create: OperationId; replace: OperationId; delete: OperationId };
  list: () => Promise<R[]>;
  /** The panel's field naming the item it uses: the list counts the panels per item. */
  usedByField: 'contentSetId' | 'levelSchemeId' | 'sensorSourceId';
  /** Whatever else the page reads, in the same go as the list (it fails with it). */
  alsoLoad?: () => Promise<void>;
}

/** What a page (and its `ResourceListPage`) reads of the list. */
export interface ResourceListState<R extends { id: string }> {
  items: Ref<R[]>;
  panels: Ref<PanelSummary[]>;
  loading: Ref<boolean>;
  error: Ref<string>;
  canCreate: ComputedRef<boolean>;
  canSave: ComputedRef<boolean>;
  canDelete: ComputedRef<boolean>;
  /** The item the URL names, `new` included. */
  selectedId: ComputedRef<string | null>;
  /** The URL asks for a new item and the role may make one. */
  creating: ComputedRef<boolean>;
  selected: ComputedRef<R | null>;
  newLink: { query: Record<string, string> };
  linkTo: (id: string) => { query: Record<string, string> };
  usedBy: (id: string) => number;
  load: () => Promise<void>;
  onSaved: (item: R, created: boolean) => Promise<void>;
  onDeleted: (id: string) => Promise<void>;
}

/**
 * The list side of an editors' page (content sets, level schemes, sensor sources): the items
 * and the panels read on mount, the item the URL names, what the role allows, and the list
 * kept in step with what the editor saved or deleted.
 */
export function useResourceList<R extends { id: string }>(options: ResourceListOptions<R>): ResourceListState<R> {
  const route = useRoute();
  const router = useRouter();
  const key = options.queryKey;

  const items = ref([]) as Ref<R[]>;
  const panels = ref<PanelSummary[]>([]);
  const loading = ref(true);
  const error = ref('');

  const canCreate = computed(() => canCall(options.operations.create));
  const canSave = computed(() => canCall(options.operations.replace));
  const canDelete = computed(() => canCall(options.operations.delete));

  const selectedId = computed(() => {
    const value = route.query[key];
    return typeof value === 'string' ? value : null;
  });
  const creating = computed(() => selectedId.value === 'new' && canCreate.value);
  const selected = computed(() => items.value.find((item) => item.id === selectedId.value) ?? null);
  const newLink = { query: { [key]: 'new' } };
  const linkTo = (id: string) => ({ query: { [key]: id } });
  const usedBy = (id: string): number => panels.value.filter((panel) => panel[options.usedByField] === id).length;

  async function load(): Promise<void> {
    loading.value = true;
    try {
      [items.value, panels.value] = await Promise.all([options.list(), api.call('listPanels'), options.alsoLoad?.()]);
      error.value = '';
    } catch (err) {
      error.value = describeError(err);
    } finally {
      loading.value = false;
    }
  }
  onMounted(load);

  async function onSaved(item: R, created: boolean): Promise<void> {
    const index = items.value.findIndex((i) => i.id === item.id);
    if (index >= 0) items.value[index] = item;
    else items.value.push(item);
    // The URL names the new item, so the editor shows it (and a reload finds it).
    if (created) await router.replace({ query: { [key]: item.id } });
  }
  async function onDeleted(id: string): Promise<void> {
    items.value = items.value.filter((item) => item.id !== id);
    await router.replace({ query: {} });
  }

  return {
    items,
    panels,
    loading,
    error,
    canCreate,
    canSave,
    canDelete,
    selectedId,
    creating,
    selected,
    newLink,
    linkTo,
    usedBy,
    load,
    onSaved,
    onDeleted,
  };
}
