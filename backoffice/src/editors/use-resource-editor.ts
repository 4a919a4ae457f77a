import { computed, nextTick, ref, watch, type ComputedRef, type Ref } from 'vue';
import { describeError } from '../lib/api.js';
import { errorsOfCall, validate, type FieldErrors } from './field-errors.js';

/** A contract body schema: checked as the operator types, parsed again right before the call. */
export type BodySchema<B> = Parameters<typeof validate>[0] & { parse(value: unknown): B };

export interface ResourceEditorOptions<R extends { id: string; name: string }, D, C, U, X> {
  /** The item edited; null while making a new one. */
  item: () => R | null;
  /**
   * The form's model. The editor's caller owns it so that its own computeds over the draft
   * exist before the first reset runs (the reset is immediate).
   */
  draft: Ref<D>;
  newDraft: () => D;
  draftOf: (item: R) => D;
  /** The request body of the form; with the id only when creating. */
  bodyOf: (draft: D, options: { withId: boolean }) => unknown;
  createBody: BodySchema<C>;
  replaceBody: BodySchema<U>;
  create: (body: C) => Promise<R>;
  replace: (id: string, body: U) => Promise<R>;
  remove: (id: string) => Promise<unknown>;
  /** What a successful save of an existing item tells the operator (a create names the new item). */
  savedNotice: () => string;
  /** The `<form>`'s selector: a save with errors focuses the first invalid control inside it. */
  formSelector: string;
  /**
   * How long the API's field errors stay: until the draft changes (the client's check takes
   * over then), or until the next save.
   */
  serverErrorsLast?: 'until-edited' | 'until-saved';
  /** What else resets when the edited item changes, right after the draft. */
  onReset?: () => void;
  /** Runs before the save's call, its result handed to `afterSave`; a failure shows like the call's own. */
  beforeSave?: () => Promise<X>;
  /** Runs once the API took the save, before the page hears of it. */
  afterSave?: (saved: R, created: boolean, context: X) => void;
  onSaved: (saved: R, created: boolean) => void;
  onDeleted: (id: string) => void;
}

/** What an editor's template (and its `EditorFooter`) reads of the form. */
export interface ResourceEditorState {
  showErrors: Ref<boolean>;
  general: Ref<string>;
  notice: Ref<string>;
  saving: Ref<boolean>;
  confirmDelete: Ref<boolean>;
  isNew: ComputedRef<boolean>;
  errors: ComputedRef<FieldErrors>;
  errorCount: ComputedRef<number>;
  save: () => Promise<void>;
  remove: () => Promise<void>;
}

/**
 * The form side of an editor of a named resource (level scheme, sensor source, content set):
 * the draft reset whenever another item is chosen, the contract's schema run on it (from the
 * first save attempt on a new item, at once on an existing one), the API's field errors merged
 * in, and save and delete with what they tell the operator.
 */
export function useResourceEditor<R extends { id: string; name: string }, D, C, U, X = undefined>(
  options: ResourceEditorOptions<R, D, C, U, X>,
): ResourceEditorState {
  const { draft } = options;
  const showErrors = ref(false);
  const serverErrors = ref<FieldErrors>({});
  const general = ref('');
  const notice = ref('');
  const saving = ref(false);
  const confirmDelete = ref(false);
  // A create moves the page to the new item: its notice outlives the reset that follows.
  let carriedNotice = '';

  const isNew = computed(() => options.item() === null);
  watch(
    () => options.item()?.id ?? null,
    () => {
      const item = options.item();
      draft.value = item ? options.draftOf(item) : options.newDraft();
      options.onReset?.();
      showErrors.value = !isNew.value;
      serverErrors.value = {};
      general.value = '';
      notice.value = carriedNotice;
      carriedNotice = '';
      confirmDelete.value = false;
    },
    { immediate: true },
  );

  const clientErrors = computed<FieldErrors>(() =>
    showErrors.value
      ? validate(isNew.value ? options.createBody : options.replaceBody, options.bodyOf(draft.value, { withId: isNew.value }))
      : {},
  );
  const errors = computed<FieldErrors>(() => ({ ...serverErrors.value, ...clientErrors.value }));
  const errorCount = computed(() => Object.keys(errors.value).length);
  const serverErrorsLast = options.serverErrorsLast ?? 'until-edited';
  if (serverErrorsLast === 'until-edited') watch(draft, () => (serverErrors.value = {}), { deep: true });

  async function focusFirstError(): Promise<void> {
    await nextTick();
    document.querySelector<HTMLElement>(`${options.formSelector} [aria-invalid="true"]`)?.focus();
  }

  async function save(): Promise<void> {
    showErrors.value = true;
    if (serverErrorsLast === 'until-saved') serverErrors.value = {};
    general.value = '';
    notice.value = '';
    if (errorCount.value > 0) {
      await focusFirstError();
      return;
    }
    saving.value = true;
    const item = options.item();
    try {
      const context = (await options.beforeSave?.()) as X;
      const saved = item
        ? await options.replace(item.id, options.replaceBody.parse(options.bodyOf(draft.value, { withId: false })))
        : await options.create(options.createBody.parse(options.bodyOf(draft.value, { withId: true })));
      notice.value = item ? options.savedNotice() : `Created “${saved.name}”.`;
      if (!item) carriedNotice = notice.value;
      options.afterSave?.(saved, !item, context);
      options.onSaved(saved, !item);
    } catch (error) {
      const result = errorsOfCall(error, { conflictField: 'id', describe: describeError });
      serverErrors.value = result.fields;
      general.value = result.general ?? '';
      await focusFirstError();
    } finally {
      saving.value = false;
    }
  }

  async function remove(): Promise<void> {
    const item = options.item();
    if (!item) return;
    general.value = '';
    try {
      await options.remove(item.id);
      options.onDeleted(item.id);
    } catch (error) {
      general.value = describeError(error);
      confirmDelete.value = false;
    }
  }

  return { showErrors, general, notice, saving, confirmDelete, isNew, errors, errorCount, save, remove };
}
