// A local ESLint rule for the layer boundaries (docs/architecture.md, "Layers").
//
// Why not eslint-plugin-import-x's no-restricted-paths: it needs a native resolver
// (unrs-resolver) whose per-platform optional packages the npm registry mirror of these
// machines does not carry, which made `npm ci` refuse the lockfile. The layers only need
// relative imports resolved against the importing file, which is a few lines of path
// arithmetic, so this rule does exactly that and nothing more. The repository's own
// workspace packages (`@airpanel/contract`, ...) are resolved through their package.json
// `exports` to the files they name, so a zone sees where such an import really lands.
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';

const builtins = new Set(builtinModules);
const stripExt = (p) => p.replace(/\.(c|m)?(t|j)sx?$|\.vue$/, '');
const isInside = (rel, dir) => rel === dir || rel.startsWith(`${dir}/`);

/** name -> { dir, exports } of every workspace package, read once from the root package.json. */
let workspaceCache;
function workspaces(root) {
  if (workspaceCache?.root === root) return workspaceCache.packages;
  const packages = new Map();
  const rootPkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  for (const dir of rootPkg.workspaces ?? []) {
    const pkg = JSON.parse(readFileSync(path.join(root, dir, 'package.json'), 'utf8'));
    packages.set(pkg.name, { dir, exports: pkg.exports ?? {} });
  }
  workspaceCache = { root, packages };
  return packages;
}

/** `@airpanel/x/sub` -> the repository-relative file its exports name, or undefined. */
function resolveWorkspaceImport(root, source) {
  const parts = source.split('/');
  const name = source.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  const pkg = workspaces(root).get(name);
  if (!pkg) return undefined;
  const sub = `.${source.slice(name.length)}` || '.';
  for (const [key, target] of Object.entries(pkg.exports)) {
    const star = key.indexOf('*');
    if (star < 0 ? key === sub : sub.startsWith(key.slice(0, star)) && sub.endsWith(key.slice(star + 1))) {
      const matched = star < 0 ? '' : sub.slice(star, sub.length - (key.length - star - 1));
      return path.posix.join(pkg.dir, String(target).replace('*', matched));
    }
  }
  return pkg.dir;
}

/** @type {import('eslint').Rule.RuleModule} */
const layers = {
  meta: {
    type: 'problem',
    docs: { description: 'Keep each runtime layer to the imports it may have' },
    schema: [
      {
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
          nodeBuiltins: {
            type: 'array',
            items: {
              type: 'object',
              properties: { target: { type: 'string' }, message: { type: 'string' } },
              required: ['target', 'message'],
            },
          },
          // Top-level folders whose files may not reach another top-level folder by a relative
          // path: what they share goes through a workspace package.
          ownFolders: { type: 'array', items: { type: 'string' } },
        },
        additionalProperties: false,
      },
    ],
  },
  create(context) {
    const { zones = [], nodeBuiltins = [], ownFolders = [] } = context.options[0] ?? {};
    const root = context.cwd;
    const file = context.filename;
    const relFile = path.relative(root, file).split(path.sep).join('/');
    const myZones = zones.filter((z) => isInside(relFile, z.target));
    const myBuiltinRules = nodeBuiltins.filter((z) => isInside(relFile, z.target));
    const myFolder = ownFolders.find((dir) => isInside(relFile, dir));
    if (myZones.length === 0 && myBuiltinRules.length === 0 && !myFolder) return {};

    function check(node, source) {
      if (typeof source !== 'string') return;
      let target;
      if (source.startsWith('.')) {
        target = stripExt(
          path
            .relative(root, path.resolve(path.dirname(file), source))
            .split(path.sep)
            .join('/'),
        );
        if (myFolder && !isInside(target, myFolder)) {
          context.report({
            node,
            message: `"${source}" leaves ${myFolder}/ by a relative path: import what is shared through its workspace package (@airpanel/...).`,
          });
        }
      } else {
        const name = source.startsWith('node:') ? source.slice(5) : source.split('/')[0];
        if (source.startsWith('node:') || builtins.has(name)) {
          for (const z of myBuiltinRules) context.report({ node, message: `"${source}": ${z.message}` });
          return;
        }
        const resolved = resolveWorkspaceImport(root, source);
        if (resolved === undefined) return;
        target = stripExt(resolved);
      }
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
