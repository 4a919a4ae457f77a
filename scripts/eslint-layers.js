// A local ESLint rule for the layer boundaries (docs/architecture.md, "Layers").
//
// Why not eslint-plugin-import-x's no-restricted-paths: it needs a native resolver
// (unrs-resolver) whose per-platform optional packages the npm registry mirror of these
// machines does not carry, which made `npm ci` refuse the lockfile. The layers only need
// relative imports resolved against the importing file, which is a few lines of path
// arithmetic, so this rule does exactly that and nothing more.
import { builtinModules } from 'node:module';
import path from 'node:path';

const builtins = new Set(builtinModules);
const stripExt = (p) => p.replace(/\.(c|m)?(t|j)sx?$|\.vue$/, '');
const isInside = (rel, dir) => rel === dir || rel.startsWith(`${dir}/`);

/** @type {import('eslint').Rule.RuleModule} */
const layers = {
  meta: {
    type: 'problem',
    docs: { description: 'Keep each runtime layer to the imports it may have' },
    schema: [{
      type: 'object',
      properties: {
        zones: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              target: { type: 'string' },
              from: { type: 'array', items: { type: 'string' } },
              except: { type: 'array', items: { type: 'string' } },
              message: { type: 'string' },
            },
            required: ['target', 'from', 'message'],
            additionalProperties: false,
          },
        },
        nodeBuiltins: { type: 'array', items: { type: 'object', properties: { target: { type: 'string' }, message: { type: 'string' } }, required: ['target', 'message'] } },
      },
      additionalProperties: false,
    }],
  },
  create(context) {
    const { zones = [], nodeBuiltins = [] } = context.options[0] ?? {};
    const root = context.cwd;
    const file = context.filename;
    const relFile = path.relative(root, file).split(path.sep).join('/');
    const myZones = zones.filter((z) => isInside(relFile, z.target));
    const myBuiltinRules = nodeBuiltins.filter((z) => isInside(relFile, z.target));
    if (myZones.length === 0 && myBuiltinRules.length === 0) return {};

    function check(node, source) {
      if (typeof source !== 'string') return;
      if (!source.startsWith('.')) {
        const name = source.startsWith('node:') ? source.slice(5) : source.split('/')[0];
        if (source.startsWith('node:') || builtins.has(name)) {
          for (const z of myBuiltinRules) context.report({ node, message: `"${source}": ${z.message}` });
        }
        return;
      }
      const target = stripExt(path.relative(root, path.resolve(path.dirname(file), source)).split(path.sep).join('/'));
      for (const z of myZones) {
        for (const from of z.from) {
          if (!isInside(target, from)) continue;
          const allowed = (z.except ?? []).some((e) => stripExt(path.posix.join(from, e)) === target);
          if (!allowed) context.report({ node, message: `"${source}" reaches ${from}: ${z.message}` });
        }
      }
    }
    return {
      ImportDeclaration: (n) => check(n, n.source.value),
      ExportNamedDeclaration: (n) => n.source && check(n, n.source.value),
      ExportAllDeclaration: (n) => check(n, n.source.value),
      ImportExpression: (n) => n.source.type === 'Literal' && check(n, n.source.value),
    };
  },
};

export default { rules: { layers } };
