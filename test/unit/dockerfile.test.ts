/**
 * The container image as the Dockerfile describes it (no Docker engine is needed: the file is read,
 * not built): every base image pinned by tag and sha256 digest, all stages on the Node.js major that
 * scripts/test-current-lts.sh tests, a distroless final stage that runs no command and needs no shell
 * or npm, node as PID 1 in exec form, a numeric non-root user, the OCI labels, a build context of
 * only what the Dockerfile copies, and a renovate.json that keeps the digests current.
 * test/scripts/image-contents.test.ts runs what the final stage holds.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';

const PROJECT_ROOT = resolve(__dirname, '..', '..');
const read = (file: string): string => readFileSync(join(PROJECT_ROOT, file), 'utf8');
const pkg = JSON.parse(read('package.json')) as { version: string; license: string };

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Instructions in order: comments dropped, continuation lines joined, keywords upper-cased. */
function instructions(dockerfile: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of dockerfile.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full === '') continue;
    const match = /^(\S+)\s*(.*)$/s.exec(full);
    assert.ok(match, full);
    out.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim() });
  }
  return out;
}

function stages(dockerfile: string): Stage[] {
  const out: Stage[] = [];
  for (const ins of instructions(dockerfile)) {
    if (ins.keyword === 'FROM') {
      const [image, as, name] = ins.args.replace(/^--platform=\S+\s+/, '').split(/\s+/);
      assert.ok(image, ins.args);
      if (as !== undefined) assert.equal(as.toUpperCase(), 'AS', ins.args);
      out.push({ image, name, instructions: [] });
    } else {
      assert.ok(out.length > 0 || ins.keyword === 'ARG', `${ins.keyword} before the first FROM`);
      out.at(-1)?.instructions.push(ins);
    }
  }
  return out;
}

/** `name:tag@sha256:<64 hex>`, the only form a base image may take here. */
const PINNED = /^(?<repository>[a-z0-9./_-]+):(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]*)@sha256:(?<digest>[0-9a-f]{64})$/;

/** An exec-form argument list (a JSON array of strings), or undefined for the shell form. */
function execForm(args: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** `key="value" key2=value2 ...` of the LABEL and ENV instructions. */
function keyValues(args: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of args.matchAll(/([A-Za-z0-9_.-]+)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
    const value = m[2]!;
    out.set(m[1]!, value.startsWith('"') ? (JSON.parse(value) as string) : value);
  }
  return out;
}

const DOCKERFILE = read('Dockerfile');
const STAGES = stages(DOCKERFILE);
const FINAL = STAGES.at(-1)!;
const byName = (name: string): Stage => {
  const stage = STAGES.find((s) => s.name === name);
  assert.ok(stage, `a stage named ${name}`);
  return stage;
};
const all = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.keyword === keyword);
/** The ARGs of a stage, with their defaults. */
const argsOf = (stage: Stage): Map<string, string | undefined> =>
  new Map(
    all(stage, 'ARG').map((i) => {
      const [key, ...value] = i.args.split('=');
      return [key!, value.length > 0 ? value.join('=') : undefined];
    }),
  );

/** The Debian release each of the images' names gives. */
const DEBIAN_CODENAMES: Record<string, number> = { bookworm: 12, trixie: 13 };

describe('Dockerfile: base images', () => {
  it('pins every FROM by tag and sha256 digest (or names an earlier stage)', () => {
    assert.ok(STAGES.length >= 2, 'a build stage and a final stage');
    const seen = new Set<string>();
    for (const stage of STAGES) {
      if (!seen.has(stage.image)) {
        assert.match(stage.image, PINNED, `FROM ${stage.image}: pin it as image:tag@sha256:<digest>`);
      }
      if (stage.name) seen.add(stage.name);
    }
  });

  it('has no unpinned syntax directive (the builder would fetch docker/dockerfile by tag)', () => {
    const directive = /^#\s*syntax\s*=\s*(\S+)/im.exec(DOCKERFILE);
    if (directive) assert.match(directive[1]!, PINNED, directive[0]);
  });

  it('builds on the official node image and runs on distroless Node.js, one major, the LTS the tests use', () => {
    const ltsMajor = /^readonly LTS_MAJOR=(\d+)$/m.exec(read('scripts/test-current-lts.sh'))?.[1];
    assert.ok(ltsMajor, 'scripts/test-current-lts.sh sets LTS_MAJOR');
    const builders = STAGES.slice(0, -1).filter((s) => PINNED.exec(s.image)?.groups?.repository === 'node');
    assert.ok(builders.length > 0);
    for (const stage of builders) {
      const { repository, tag } = PINNED.exec(stage.image)!.groups!;
      assert.equal(repository, 'node', `${stage.name}: the official node image`);
      assert.match(tag!, new RegExp(`^${ltsMajor}-(bookworm|trixie)-slim$`), `${stage.name}: node:${ltsMajor}-<debian>-slim`);
    }
    assert.equal(new Set(builders.map((s) => s.image)).size, 1, 'every build stage on the same image and digest');

    const final = PINNED.exec(FINAL.image)?.groups;
    assert.ok(final, FINAL.image);
    assert.match(final.repository!, new RegExp(`^gcr\\.io/distroless/nodejs${ltsMajor}-debian(12|13)$`));
    assert.equal(final.tag, 'nonroot', 'the distroless nonroot variant');
    const finalDebian = Number(/-debian(\d+)$/.exec(final.repository!)![1]);
    const buildDebian = DEBIAN_CODENAMES[/-(bookworm|trixie)-/.exec(builders[0]!.image)![1]!];
    assert.equal(buildDebian, finalDebian, 'the build stages and the final stage on the same Debian release');
  });
});

describe('Dockerfile: stages', () => {
  it('bundles the program with `npm run build` in the build stage', () => {
    const build = all(byName('build'), 'RUN').map((i) => i.args);
    assert.ok(
      build.some((r) => /^npm ci\b/.test(r)),
      'build: npm ci',
    );
    assert.ok(
      build.some((r) => /^npm run build\b/.test(r)),
      'build: npm run build',
    );
  });

  it("makes the compile cache on the final stage's own image, as its user, with its entrypoint", () => {
    const cache = byName('compile-cache');
    assert.equal(cache.image, FINAL.image, 'the same image and digest as the final stage: Node keeps a cache only for its own build');
    assert.equal(all(cache, 'USER').at(-1)?.args, all(FINAL, 'USER').at(-1)?.args, 'the same uid: Node keeps a cache per uid');
    const cacheEnv = new Map(all(cache, 'ENV').flatMap((i) => [...keyValues(i.args)]));
    const finalEnv = new Map(all(FINAL, 'ENV').flatMap((i) => [...keyValues(i.args)]));
    assert.ok(cacheEnv.get('NODE_COMPILE_CACHE'));
    assert.equal(finalEnv.get('NODE_COMPILE_CACHE'), cacheEnv.get('NODE_COMPILE_CACHE'));
    const runs = all(cache, 'RUN').map((i) => execForm(i.args));
    const entrypoint = execForm(all(FINAL, 'ENTRYPOINT')[0]!.args)!;
    assert.deepEqual(runs, [[...entrypoint, '--version']], 'the entrypoint itself, in exec form (no shell in distroless)');
    assert.equal(all(cache, 'WORKDIR').at(-1)?.args, all(FINAL, 'WORKDIR').at(-1)?.args, 'the same paths: the cache is keyed by file name');
  });

  it('copies dist/ and the compile cache into the final stage, and no node_modules', () => {
    const copies = all(FINAL, 'COPY').map((i) => i.args);
    assert.ok(copies.includes('--from=build /app/dist ./dist'), copies.join('\n'));
    assert.ok(copies.includes('--from=compile-cache --chown=65532:65532 /app/compile-cache ./compile-cache'), copies.join('\n'));
    assert.ok(!copies.some((c) => /node_modules/.test(c)), copies.join('\n'));
    assert.equal(all(FINAL, 'WORKDIR').at(-1)?.args, '/app');
  });

  it('runs nothing in the final stage: no RUN, no SHELL, no ADD', () => {
    const found = FINAL.instructions.filter((i) => ['RUN', 'SHELL', 'ADD', 'ONBUILD'].includes(i.keyword));
    assert.deepEqual(found, []);
  });

  it('starts node on dist/main.js in exec form, node as PID 1', () => {
    const entrypoints = all(FINAL, 'ENTRYPOINT');
    assert.equal(entrypoints.length, 1, 'one ENTRYPOINT in the final stage');
    const entrypoint = execForm(entrypoints[0]!.args);
    assert.deepEqual(entrypoint, ['/nodejs/bin/node', 'dist/main.js'], entrypoints[0]!.args);
    for (const cmd of all(FINAL, 'CMD')) assert.ok(execForm(cmd.args), `CMD in exec form: ${cmd.args}`);
  });

  it('puts the image node on the PATH, for `kubectl exec ... -- node dist/main.js status`', () => {
    const env = new Map(all(FINAL, 'ENV').flatMap((i) => [...keyValues(i.args)]));
    assert.equal(env.get('NODE_ENV'), 'production');
    assert.ok(env.get('PATH')?.split(':').includes('/nodejs/bin'), `PATH=${env.get('PATH')}`);
  });

  it('runs as the distroless nonroot user, by number so that runAsNonRoot can verify it', () => {
    const users = all(FINAL, 'USER');
    assert.ok(users.length > 0, 'a USER in the final stage');
    assert.equal(users.at(-1)!.args, '65532:65532');
  });

  it('exposes the probe port', () => {
    assert.deepEqual(
      all(FINAL, 'EXPOSE').map((i) => i.args),
      ['8090'],
    );
  });
});

describe('Dockerfile: OCI labels', () => {
  const labels = new Map(all(FINAL, 'LABEL').flatMap((i) => [...keyValues(i.args)]));
  const args = argsOf(FINAL);

  it('names the source, title, description and licence', () => {
    assert.match(labels.get('org.opencontainers.image.source') ?? '', /^https:\/\/\S+$/);
    assert.equal(labels.get('org.opencontainers.image.title'), 'flink-ha-sidecar');
    assert.ok((labels.get('org.opencontainers.image.description') ?? '').length > 20);
    assert.equal(labels.get('org.opencontainers.image.licenses'), pkg.license);
    assert.equal(pkg.license, 'Apache-2.0');
  });

  it('takes version and revision from build arguments of the final stage', () => {
    assert.equal(labels.get('org.opencontainers.image.version'), '${VERSION}');
    assert.equal(labels.get('org.opencontainers.image.revision'), '${REVISION}');
    assert.ok(args.has('REVISION'), 'ARG REVISION after the final FROM');
    assert.equal(args.get('VERSION'), pkg.version, "ARG VERSION defaults to package.json's version");
  });
});

describe('.dockerignore', () => {
  const patterns = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

  it('lets in exactly what the Dockerfile copies from the build context', () => {
    assert.equal(patterns[0], '*', 'everything excluded first');
    const allowed = patterns.slice(1).map((p) => {
      assert.ok(p.startsWith('!'), `only exceptions after "*": ${p}`);
      return p.slice(1).replace(/\/$/, '');
    });
    const copied = STAGES.flatMap((s) => all(s, 'COPY'))
      .filter((i) => !/--from=/.test(i.args))
      .flatMap((i) => {
        const words = i.args.split(/\s+/).filter((w) => !w.startsWith('--'));
        return words.slice(0, -1).map((w) => w.replace(/^\.\//, '').replace(/\/$/, ''));
      });
    assert.deepEqual([...new Set(copied)].sort(), [...allowed].sort());
  });
});

describe('renovate.json', () => {
  interface PackageRule {
    matchManagers?: string[];
    matchDatasources?: string[];
    matchDepTypes?: string[];
    matchUpdateTypes?: string[];
    matchPackageNames?: string[];
    pinDigests?: boolean;
    enabled?: boolean;
    groupName?: string;
  }
  interface RenovateConfig {
    extends?: string[];
    enabledManagers?: string[];
    ignorePaths?: string[];
    dockerfile?: { managerFilePatterns?: string[]; enabled?: boolean };
    packageRules?: PackageRule[];
  }
  const config = JSON.parse(read('renovate.json')) as RenovateConfig;
  const rules = config.packageRules ?? [];
  const forDockerfile = (r: PackageRule): boolean =>
    (r.matchManagers?.includes('dockerfile') ?? false) || (r.matchDatasources?.includes('docker') ?? false);

  it('parses, and runs the dockerfile and npm managers', () => {
    assert.ok(config.extends?.includes('config:recommended'));
    if (config.enabledManagers) {
      assert.ok(config.enabledManagers.includes('dockerfile'));
      assert.ok(config.enabledManagers.includes('npm'));
    }
    assert.notEqual(config.dockerfile?.enabled, false);
    assert.ok(!(config.ignorePaths ?? []).some((p) => /dockerfile/i.test(p)), 'the Dockerfile is not ignored');
  });

  it("finds the Dockerfile by the dockerfile manager's default file pattern", () => {
    // Renovate's default managerFilePatterns for the dockerfile manager (as of Renovate 44).
    const patterns = config.dockerfile?.managerFilePatterns ?? ['/(^|/|\\.)([Dd]ocker|[Cc]ontainer)file$/'];
    const matches = patterns.some((p) => new RegExp(p.replace(/^\/|\/$/g, '')).test('Dockerfile'));
    assert.ok(matches, patterns.join(', '));
  });

  it('pins digests and keeps them current', () => {
    assert.ok(
      rules.some((r) => forDockerfile(r) && r.pinDigests === true),
      'a rule with pinDigests for the Dockerfile',
    );
    const disabled = rules.filter((r) => forDockerfile(r) && r.enabled === false);
    for (const rule of disabled) {
      const types = rule.matchUpdateTypes ?? [];
      assert.ok(
        types.length > 0 && !types.includes('digest') && !types.includes('pin') && !types.includes('pinDigest'),
        JSON.stringify(rule),
      );
    }
  });

  it('groups the npm dependencies and devDependencies', () => {
    for (const depType of ['dependencies', 'devDependencies']) {
      const rule = rules.find((r) => r.matchDepTypes?.includes(depType) && r.groupName);
      assert.ok(rule, `a group for ${depType}`);
      assert.notEqual(rule.enabled, false);
    }
  });
});
