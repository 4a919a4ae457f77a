import { z } from 'zod';
import { ContentSetCreateBody } from '../product/backend-api.js';
import { ContentSet, ContentSetBody } from '../product/content.js';
import { Identifier } from '../product/primitives.js';
import { apiPath, endpoint, errors, named } from './endpoint.js';

const ContentSetParams = z.object({ contentSetId: Identifier });
const contentSet = named('ContentSet', ContentSet);

export const contentSetEndpoints = {
  listContentSets: endpoint({
    method: 'GET',
    path: apiPath('/content-sets'),
    operationId: 'listContentSets',
    tag: 'content',
    auth: 'viewer',
    summary: 'Content sets',
    responses: { 200: { description: 'Content sets', schema: named('ContentSetList', z.array(ContentSet)) }, ...errors(401, 403) },
  }),
  createContentSet: endpoint({
    method: 'POST',
    path: apiPath('/content-sets'),
    operationId: 'createContentSet',
    tag: 'content',
    auth: 'operator',
    summary: 'Add a content set (texts, colours and icons per level)',
    body: named('ContentSetCreateBody', ContentSetCreateBody),
    responses: { 201: { description: 'Created', schema: contentSet }, ...errors(400, 401, 403, 409) },
  }),
  getContentSet: endpoint({
    method: 'GET',
    path: apiPath('/content-sets/{contentSetId}'),
    operationId: 'getContentSet',
    tag: 'content',
    auth: 'viewer',
    summary: 'One content set',
    params: ContentSetParams,
    responses: { 200: { description: 'The content set', schema: contentSet }, ...errors(400, 401, 403, 404) },
  }),
  replaceContentSet: endpoint({
    method: 'PUT',
    path: apiPath('/content-sets/{contentSetId}'),
    operationId: 'replaceContentSet',
    tag: 'content',
    auth: 'operator',
    summary: 'Replace a content set; panels using it get new documents at once',
    params: ContentSetParams,
    body: named('ContentSetBody', ContentSetBody),
    responses: { 200: { description: 'Replaced', schema: contentSet }, ...errors(400, 401, 403, 404) },
  }),
  deleteContentSet: endpoint({
    method: 'DELETE',
    path: apiPath('/content-sets/{contentSetId}'),
    operationId: 'deleteContentSet',
    tag: 'content',
    auth: 'operator',
    summary: 'Delete a content set no panel uses (not the default)',
    params: ContentSetParams,
    responses: { 204: { description: 'Deleted' }, ...errors(400, 401, 403, 404, 409) },
  }),
};
