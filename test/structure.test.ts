import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The house rules of docs/architecture.md ("How the code is kept") that a linter does not
// check, checked on the tree itself: small modules, one composition root started from few
// places, API URLs built by the contract's client alone. (Imports across top-level folders
// are the layer rule's, test/lint-layers.test.ts.)

const ROOT = path.resolve(import.meta.dirname, '..');
// What is built, installed or recorded in the tree, at any depth; hidden folders too.
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'results', 'artifacts', 'test-results', 'playwright-report', 'out']);
const SOURCE = /\.(ts|mts|mjs|js|vue)$/;
const MAX_LOGIC_LINES = 400;

function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith('.')) walk(rel);
      } else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        files.push(rel);
      }
    }
  };
  walk('.');
  return files;
}

const isTest = (file: string) => /\.(test|spec|boot)\.ts$|\.test-support\.ts$/.test(file) || file.startsWith('test/');

/** Lines holding code: comments and blank lines do not count (the tokens of TypeScript's own parse decide). */
function logicLines(text: string, file: string): number {
  if (file.endsWith('.vue')) {
    return text.split('\n').filter((line) => !/^\s*($|\/\/|\/?\*|<!--)/.test(line)).length;
  }
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const lines = new Set<number>();
  const visit = (node: ts.Node) => {
    if (node.kind >= ts.SyntaxKind.FirstJSDocNode && node.kind <= ts.SyntaxKind.LastJSDocNode) return;
    if (node.getChildCount(source) === 0) {
      if (node.kind === ts.SyntaxKind.EndOfFileToken) return;
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      for (let line = first; line <= last; line++) lines.add(line);
      return;
    }
    for (const child of node.getChildren(source)) visit(child);
  };
  visit(source);
  return lines.size;
}

/** The string and template literals of a file, with their line, comments left out. */
function literals(text: string, file: string): { line: number; text: string }[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: { line: number; text: string }[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isStringLiteralLike(node) || ts.isTemplateExpression(node)) {
      found.push({ line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1, text: node.getText(source) });
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const files = sourceFiles();
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

describe('the house rules, on the tree', () => {
  it(`has no module over ${MAX_LOGIC_LINES} lines of logic (comments and blank lines aside)`, () => {
    expect(files.length).toBeGreaterThan(300);
    const over = files.map((file) => ({ file, lines: logicLines(read(file), file) })).filter((f) => f.lines > MAX_LOGIC_LINES);
    expect(over, 'split these into pieces with one purpose each').toEqual([]);
    // Parses every source file with TypeScript: 8 s on a quiet 2-core machine, 29 s beside a QEMU boot.
  }, 120_000);

  it('starts the backend from its composition root in the programs and the test harness only', () => {
    // The programs that are a backend (its CLI, `npm start`, the fleet's measured backend
    // process) and the two harness entries every test goes through.
    const allowed = new Set([
      'server-stub/src/backend.ts',
      'server-stub/src/cli.ts',
      'scripts/start.ts',
      'test/fleet/backend-process.ts',
      'server-stub/src/test-support.ts',
      'test/harness/backend.ts',
    ]);
    const callers = files.filter((file) => /\bcreateBackend\(/.test(read(file)) && !allowed.has(file));
    expect(callers).toEqual([]);
  });

  it('builds API URLs in the contract and the harness only, in code that ships', () => {
    // A URL with the API prefix written out (`${base}/api/v1…`, `http://…/api/v1…`); the
    // prefix named in a message or a comment is fine.
    const urlWithPrefix = /(\$\{[^}]*\}|https?:\/\/[^\s'"`]*)\/api\/v1/;
    const builders = files
      .filter((file) => !isTest(file) && !file.startsWith('contract/src/api/') && !file.endsWith('.vue'))
      .flatMap((file) =>
        literals(read(file), file)
          .filter((l) => urlWithPrefix.test(l.text))
          .map((l) => `${file}:${l.line} ${l.text}`),
      );
    expect(builders).toEqual([]);
  });
});
