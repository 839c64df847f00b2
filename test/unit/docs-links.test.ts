/**
 * Every relative link in README.md, CONTRIBUTING.md, CHANGELOG.md and docs/*.md resolves: the file
 * exists, and an anchor names a heading of the target Markdown file (GitHub's anchor rules). Links
 * inside code blocks and absolute URLs are not checked.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

const PROJECT_ROOT = resolve(__dirname, '..', '..');
const FILES = [
  join(PROJECT_ROOT, 'README.md'),
  join(PROJECT_ROOT, 'CONTRIBUTING.md'),
  join(PROJECT_ROOT, 'CHANGELOG.md'),
  ...readdirSync(join(PROJECT_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(PROJECT_ROOT, 'docs', f)),
];

/** The text outside fenced code blocks, with inline code removed. */
function prose(markdown: string): string {
  let fenced = false;
  return markdown
    .split('\n')
    .map((line) => {
      if (line.trimStart().startsWith('```')) {
        fenced = !fenced;
        return '';
      }
      return fenced ? '' : line.replace(/`[^`]*`/g, '');
    })
    .join('\n');
}

function githubAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown file's headings, duplicates numbered as GitHub numbers them. */
function headingAnchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8');
  let fenced = false;
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    if (line.trimStart().startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6} (.+)$/.exec(line);
    if (!m) continue;
    const base = githubAnchor(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe('relative links in README.md, CONTRIBUTING.md, CHANGELOG.md and docs/', () => {
  for (const file of FILES) {
    it(`${relative(PROJECT_ROOT, file)}: every relative link and anchor resolves`, () => {
      const broken: string[] = [];
      for (const m of prose(readFileSync(file, 'utf8')).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/i.test(target)) continue;
        const [path = '', anchor] = target.split('#');
        const resolved = path === '' ? file : resolve(dirname(file), path);
        if (!existsSync(resolved)) {
          broken.push(`${target}: no such file`);
          continue;
        }
        if (anchor === undefined) continue;
        if (statSync(resolved).isDirectory() || !resolved.endsWith('.md')) {
          broken.push(`${target}: an anchor into a file that is not Markdown`);
        } else if (!headingAnchors(resolved).has(anchor)) {
          broken.push(`${target}: no heading with that anchor`);
        }
      }
      assert.deepEqual(broken, []);
    });
  }
});
