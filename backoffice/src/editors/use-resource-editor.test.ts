import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { effectScope, nextTick, ref, type EffectScope } from 'vue';
import { z } from 'zod';
import { ApiCallError } from '@airpanel/contract/api';
import { useResourceEditor, type ResourceEditorOptions } from './use-resource-editor.js';

// The real module builds the API client from `window.location` when imported.
vi.mock('../lib/api.js', () => ({ describeError: (error: unknown) => (error instanceof Error ? error.message : String(error)) }));

interface Thing {
  id: string;
  name: string;
}
interface ThingDraft {
  id: string;
  name: string;
}
const CreateBody = z.object({ id: z.string().optional(), name: z.string().min(1, 'A name is needed.') });
const ReplaceBody = z.object({ name: z.string().min(1, 'A name is needed.') });
const bodyOf = (draft: ThingDraft, { withId }: { withId: boolean }) =>
  withId ? { ...(draft.id ? { id: draft.id } : {}), name: draft.name } : { name: draft.name };

let scope: EffectScope;
let focused: string[];

beforeEach(() => {
  scope = effectScope();
  focused = [];
  // Only the selector matters here: which form's first invalid control a save focuses.
  vi.stubGlobal('document', {
    querySelector: (selector: string) => ({ focus: () => focused.push(selector) }),
  });
});
afterEach(() => {
  scope.stop();
  vi.unstubAllGlobals();
});

function editor(
  overrides: Partial<ResourceEditorOptions<Thing, ThingDraft, z.infer<typeof CreateBody>, z.infer<typeof ReplaceBody>, string>> = {},
) {
  const item = ref<Thing | null>(null);
  const draft = ref<ThingDraft>({ id: '', name: '' });
  const calls = {
    create: vi.fn(async (body: z.infer<typeof CreateBody>) => ({ id: body.id ?? 'made-1', name: body.name })),
    replace: vi.fn(async (id: string, body: z.infer<typeof ReplaceBody>) => ({ id, name: body.name })),
    remove: vi.fn(async (_id: string) => undefined),
    onSaved: vi.fn(),
    onDeleted: vi.fn(),
  };
  const state = scope.run(() =>
    useResourceEditor<Thing, ThingDraft, z.infer<typeof CreateBody>, z.infer<typeof ReplaceBody>, string>({
      item: () => item.value,
      draft,
      newDraft: () => ({ id: '', name: '' }),
      draftOf: (thing) => ({ id: thing.id, name: thing.name }),
      bodyOf,
      createBody: CreateBody,
      replaceBody: ReplaceBody,
      create: calls.create,
      replace: calls.replace,
      remove: calls.remove,
      savedNotice: () => 'Saved.',
      formSelector: '.thing-editor',
      onSaved: calls.onSaved,
      onDeleted: calls.onDeleted,
      ...overrides,
    }),
  )!;
  return { item, draft, calls, state };
}

describe('resource editor, with the API calls and the document as mocks', () => {
  it('checks a new item only from the first save, and focuses the first error instead of calling the API', async () => {
    const { calls, state } = editor();
    expect(state.isNew.value).toBe(true);
    expect(state.errorCount.value).toBe(0);
    await state.save();
    expect(state.showErrors.value).toBe(true);
    expect(state.errors.value).toEqual({ name: 'A name is needed.' });
    expect(focused).toEqual(['.thing-editor [aria-invalid="true"]']);
    expect(calls.create).not.toHaveBeenCalled();
  });

  it('checks an existing item at once, and resets the form when another item is chosen', async () => {
    const { item, draft, state } = editor();
    item.value = { id: 'a', name: '' };
    await nextTick();
    expect(draft.value).toEqual({ id: 'a', name: '' });
    expect(state.isNew.value).toBe(false);
    expect(state.errors.value).toEqual({ name: 'A name is needed.' });
    state.confirmDelete.value = true;
    item.value = null;
    await nextTick();
    expect(state.showErrors.value).toBe(false);
    expect(state.confirmDelete.value).toBe(false);
    expect(draft.value).toEqual({ id: '', name: '' });
  });

  it('creates with the parsed body and keeps the notice across the move to the new item, once', async () => {
    const { item, draft, calls, state } = editor();
    draft.value.name = 'Harbour';
    await state.save();
    expect(calls.create).toHaveBeenCalledWith({ name: 'Harbour' });
    expect(calls.onSaved).toHaveBeenCalledWith({ id: 'made-1', name: 'Harbour' }, true);
    expect(state.notice.value).toBe('Created “Harbour”.');
    expect(state.saving.value).toBe(false);
    item.value = { id: 'made-1', name: 'Harbour' };
    await nextTick();
    expect(state.notice.value).toBe('Created “Harbour”.');
    item.value = { id: 'other', name: 'Other' };
    await nextTick();
    expect(state.notice.value).toBe('');
  });

  it('replaces an existing item by its id, without the id in the body, and says what the save does', async () => {
    const { item, draft, calls, state } = editor();
    item.value = { id: 'a', name: 'A' };
    await nextTick();
    draft.value.name = 'A2';
    await state.save();
    expect(calls.replace).toHaveBeenCalledWith('a', { name: 'A2' });
    expect(calls.onSaved).toHaveBeenCalledWith({ id: 'a', name: 'A2' }, false);
    expect(state.notice.value).toBe('Saved.');
  });

  it('puts a 409 beside the id; the API errors go once the draft is typed in again', async () => {
    const { draft, calls, state } = editor();
    calls.create.mockRejectedValueOnce(new ApiCallError('refused', 'createThing', 'Id “a” is taken.', { status: 409 }));
    draft.value = { id: 'a', name: 'A' };
    await state.save();
    expect(state.errors.value).toEqual({ id: 'Id “a” is taken.' });
    expect(state.general.value).toBe('');
    expect(focused).toHaveLength(1);
    expect(calls.onSaved).not.toHaveBeenCalled();
    draft.value.id = 'b';
    await nextTick();
    expect(state.errors.value).toEqual({});
  });

  it('keeps the API errors until the next save when told to', async () => {
    const { draft, calls, state } = editor({ serverErrorsLast: 'until-saved' });
    calls.create.mockRejectedValueOnce(new ApiCallError('refused', 'createThing', 'Id “a” is taken.', { status: 409 }));
    draft.value = { id: 'a', name: 'A' };
    await state.save();
    draft.value.id = 'b';
    await nextTick();
    expect(state.errors.value).toEqual({ id: 'Id “a” is taken.' });
    await state.save();
    expect(calls.create).toHaveBeenLastCalledWith({ id: 'b', name: 'A' });
    expect(state.errors.value).toEqual({});
  });

  it('shows any other failure at the top of the form', async () => {
    const { draft, calls, state } = editor();
    calls.create.mockRejectedValueOnce(new Error('The backend did not answer.'));
    draft.value.name = 'A';
    await state.save();
    expect(state.general.value).toBe('The backend did not answer.');
    expect(state.errorCount.value).toBe(0);
  });

  it('hands what ran before the save to the hook after it, and resets the caller’s own state with the draft', async () => {
    const order: string[] = [];
    const { item, state } = editor({
      beforeSave: async () => 'context',
      afterSave: (saved, created, context) => order.push(`after ${saved.id} ${created} ${context}`),
      onSaved: () => order.push('saved'),
      onReset: () => order.push('reset'),
    });
    item.value = { id: 'a', name: 'A' };
    await nextTick();
    await state.save();
    // Once for the new item at the start, once for the item chosen.
    expect(order).toEqual(['reset', 'reset', 'after a false context', 'saved']);
  });

  it('deletes the item shown; a refusal shows and closes the confirmation', async () => {
    const { item, calls, state } = editor();
    await state.remove();
    expect(calls.remove).not.toHaveBeenCalled();
    item.value = { id: 'a', name: 'A' };
    await nextTick();
    await state.remove();
    expect(calls.onDeleted).toHaveBeenCalledWith('a');
    calls.remove.mockRejectedValueOnce(new Error('A panel uses it.'));
    state.confirmDelete.value = true;
    await state.remove();
    expect(state.general.value).toBe('A panel uses it.');
    expect(state.confirmDelete.value).toBe(false);
  });
});
