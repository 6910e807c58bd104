/**
 * The Dockerfile and docker/docker-compose.yml, checked without a container engine: docker-compose
 * parses the compose file, and the tests check that everything both files name exists in the project
 * and agrees with the processes' own config (ports, commands, Prometheus targets, Grafana provisioning),
 * and that the ops tools the build writes are in the image where the README's commands run them.
 * What only a real `docker build` / `docker compose up` shows is listed in the README ("Docker").
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import { loadApiConfig } from '@chat3/api';
import { loadBuilderConfig } from '@chat3/builder';
import { loadRelayConfig } from '@chat3/relay';
import { gate, repoRoot } from '@chat3/testkit';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SERVICES, toolOutput, TOOLS, TOOLS_DIR } from './build';

const root = resolve(repoRoot);
const dockerDir = join(root, 'docker');
const composeFile = join(dockerDir, 'docker-compose.yml');
const composeText = readFileSync(composeFile, 'utf8');

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: string[] | Record<string, unknown>;
  healthcheck?: { test: string[] };
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const compose = parse(composeText, { merge: true }) as ComposeFile;
const services = Object.entries(compose.services);

/** `${NAME:-default}` → the default (the environment of a plain `docker compose up`). */
const interpolate = (value: string) => value.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');

/** The process a compose service runs, from its command `node packages/<service>/dist/main.js`. */
function serviceOf(command: string[] | undefined): (typeof SERVICES)[number] | undefined {
  const match = /^packages\/([a-z-]+)\/dist\/main\.js$/.exec(command?.[1] ?? '');
  return SERVICES.find((s) => s === match?.[1]);
}

const loaders = { builder: loadBuilderConfig, relay: loadRelayConfig, api: loadApiConfig };

/** The config the process of a compose service starts with: its environment through its own loader. */
function effectiveConfig(service: ComposeService): { METRICS_PORT: number; API_PORT?: number; MONGODB_URI: string } {
  const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]));
  return loaders[serviceOf(service.command)!](env);
}

const chat3Services = services.filter(([, s]) => s.image === 'chat3-updates:local');

/** `host:container[/proto]` or `ip:host:container` → container port. */
const containerPort = (mapping: string) => Number(mapping.split(':').at(-1)!.split('/')[0]);

/** Bind mounts `source:target[:mode]` (sources relative to docker/), skipping named volumes. */
function bindMounts(service: ComposeService): Array<{ source: string; target: string }> {
  return (service.volumes ?? [])
    .map((v) => v.split(':'))
    .filter(([source]) => source!.startsWith('.') || source!.startsWith('/'))
    .map(([source, target]) => ({ source: resolve(dockerDir, source!), target: target! }));
}

describe('docker/docker-compose.yml', () => {
  const binary = spawnSync('docker-compose', ['version', '--short'], { encoding: 'utf8' });
  it.skipIf(gate(binary.status === 0, 'docker-compose (scripts/setup.sh installs it)', 'docker-compose config -q of the compose file'))(
    'is a valid compose file for docker-compose config',
    () => {
      // docker-compose 1.29 predates the top-level `name` of the compose spec (docker compose v2 reads
      // it); everything else is validated as written, from docker/ so relative paths resolve the same.
      const dir = mkdtempSync(join(tmpdir(), 'chat3-compose-'));
      try {
        const file = join(dir, 'docker-compose.yml');
        writeFileSync(file, composeText.replace(/^name:.*$/m, ''));
        const result = spawnSync('docker-compose', ['-f', file, '--project-directory', dockerDir, 'config', '-q'], { encoding: 'utf8' });
        expect(result.status, result.stderr).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('runs the whole stack: a MongoDB replica set, RabbitMQ with management, builder ×2, relay ×2, the API, Prometheus, Grafana', () => {
    const mongo = compose.services.mongo!;
    expect(mongo.command).toContain('--replSet');
    expect(mongo.healthcheck?.test.join(' ')).toContain('rs.initiate');
    expect(compose.services.rabbitmq?.image).toMatch(/^rabbitmq:.*-management$/);
    const count = (name: string) => chat3Services.filter(([, s]) => serviceOf(s.command) === name).length;
    expect({ builder: count('builder'), relay: count('relay'), api: count('api') }).toEqual({ builder: 2, relay: 2, api: 1 });
    expect(compose.services.prometheus?.image).toMatch(/^prom\/prometheus:/);
    expect(compose.services.grafana?.image).toMatch(/^grafana\/grafana:/);
  });

  it('names build contexts, Dockerfiles, mounted files, volumes and dependencies that exist', () => {
    for (const [name, service] of services) {
      if (service.build) {
        const context = resolve(dockerDir, service.build.context);
        expect(statSync(context).isDirectory(), `${name}: build context`).toBe(true);
        expect(existsSync(join(context, service.build.dockerfile ?? 'Dockerfile')), `${name}: Dockerfile`).toBe(true);
      }
      for (const { source } of bindMounts(service)) expect(existsSync(source), `${name}: mounted ${source}`).toBe(true);
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (!source.startsWith('.') && !source.startsWith('/')) expect(compose.volumes, `${name}: volume ${source}`).toHaveProperty(source);
      }
      const deps = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
      for (const dep of deps) expect(compose.services, `${name} depends on ${dep}`).toHaveProperty(dep);
    }
  });

  it('starts each process with a command `pnpm build` produces, an environment its config accepts, and the ports it listens on', () => {
    expect(chat3Services.length).toBeGreaterThan(0);
    for (const [name, service] of chat3Services) {
      expect(service.command?.[0], name).toBe('node');
      const proc = serviceOf(service.command);
      expect(proc, `${name}: ${service.command?.join(' ')} is not a service dist/main.js`).toBeDefined();
      expect(existsSync(join(repoRoot, `packages/${proc}/src/main.ts`)), `${name}: its src/main.ts`).toBe(true);
      expect(service.build?.context && resolve(dockerDir, service.build.context), `${name} builds the project image`).toBe(root);

      const config = effectiveConfig(service); // throws ConfigError on an environment the process refuses
      expect(new URL(config.MONGODB_URI).hostname, `${name}: MongoDB`).toBe('mongo');
      const published = (service.ports ?? []).map(containerPort);
      if (proc === 'api') expect(published, `${name}: the API port is published`).toContain(config.API_PORT);
      else expect(published, `${name}: publishes nothing`).toEqual([]);
    }
  });

  it('has Prometheus scrape every process on its METRICS_PORT, under the kit’s job names, with the kit’s alert rules', () => {
    const prometheus = compose.services.prometheus!;
    const mounts = bindMounts(prometheus);
    const configFile = /--config\.file=(\S+)/.exec((prometheus.command ?? []).join(' '))?.[1];
    const configMount = mounts.find((m) => m.target === configFile);
    expect(configMount, `the mount of ${configFile}`).toBeDefined();
    const config = parse(readFileSync(configMount!.source, 'utf8')) as {
      rule_files?: string[];
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    };

    for (const rules of config.rule_files ?? []) {
      const target = posix.isAbsolute(rules) ? rules : posix.join(posix.dirname(configFile!), rules);
      expect(
        mounts.some((m) => m.target === target),
        `rule file ${rules} is mounted`,
      ).toBe(true);
    }
    expect(config.rule_files ?? [], 'the alert rules are loaded').not.toEqual([]);

    const targets = config.scrape_configs.flatMap((job) => job.static_configs.flatMap((c) => c.targets));
    for (const target of targets) {
      const [host, port] = target.split(':');
      const service = compose.services[host!];
      expect(service?.image, `${target} is a process of the stack`).toBe('chat3-updates:local');
      expect(effectiveConfig(service!).METRICS_PORT, `${target}: the process's METRICS_PORT`).toBe(Number(port));
    }
    for (const [name] of chat3Services)
      expect(
        targets.some((t) => t.startsWith(`${name}:`)),
        `${name} is scraped`,
      ).toBe(true);

    // The kit's host config names the jobs its alert rules and dashboard use; the stack keeps them.
    const kit = parse(readFileSync(join(repoRoot, 'ops/prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{ job_name: string }>;
    };
    const jobs = config.scrape_configs.map((j) => j.job_name);
    for (const job of kit.scrape_configs.map((j) => j.job_name)) expect(jobs, `job ${job} of ops/prometheus/prometheus.yml`).toContain(job);
  });

  it('has Grafana provisioned with the Prometheus of the stack and the dashboard files', () => {
    const grafana = compose.services.grafana!;
    const mounts = bindMounts(grafana);
    const provisioning = mounts.find((m) => m.target === '/etc/grafana/provisioning');
    expect(provisioning, 'ops/grafana/provisioning is mounted').toBeDefined();
    const yamlIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)) : []).map((f) => join(dir, f));

    const datasources = yamlIn(join(provisioning!.source, 'datasources')).flatMap(
      (f) => (parse(readFileSync(f, 'utf8')) as { datasources: Array<{ type: string; url: string }> }).datasources,
    );
    const prometheusSources = datasources.filter((d) => d.type === 'prometheus');
    expect(prometheusSources.length).toBeGreaterThan(0);
    for (const source of prometheusSources) {
      const url = new URL(source.url);
      expect(compose.services, `datasource host ${url.hostname}`).toHaveProperty(url.hostname);
      expect(compose.services[url.hostname]!.image).toMatch(/^prom\/prometheus:/);
      expect(url.port).toBe('9090');
    }

    const providers = yamlIn(join(provisioning!.source, 'dashboards')).flatMap(
      (f) => (parse(readFileSync(f, 'utf8')) as { providers: Array<{ options: { path: string } }> }).providers,
    );
    expect(providers.length).toBeGreaterThan(0);
    for (const provider of providers) {
      const mount = mounts.find((m) => m.target === provider.options.path);
      expect(mount, `a mount at the provider's path ${provider.options.path}`).toBeDefined();
      const dashboards = readdirSync(mount!.source).filter((f) => f.endsWith('.json'));
      expect(dashboards).toContain('chat3-updates.json');
      for (const file of dashboards) expect(JSON.parse(readFileSync(join(mount!.source, file), 'utf8'))).toHaveProperty('uid');
    }
  });
});

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function dockerInstructions(text: string): Array<{ op: string; args: string }> {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

/** A .dockerignore pattern as a RegExp over repo-relative paths (`**`, `*`; a match excludes the subtree). */
function ignoreRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]]/g, '\\$&')
    .replace(/\*\*\//g, '\0')
    .replace(/\*/g, '[^/]*')
    .replace(/\0/g, '(?:.*/)?');
  return new RegExp(`^${body}(?:/.*)?$`);
}

describe('Dockerfile', () => {
  const text = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  const instructions = dockerInstructions(text);
  const ignored = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map(ignoreRegExp);
  const isIgnored = (path: string) => ignored.some((re) => re.test(path));
  const stages = instructions.filter((i) => i.op === 'FROM').map((i) => /\bAS\s+(\S+)/i.exec(i.args)?.[1]);
  const runtime = instructions.slice(instructions.map((i) => i.op).lastIndexOf('FROM'));
  /** The packages of the `for … in <names>; do pnpm --filter "@chat3/$…" deploy … "/out/$…"` loop. */
  const deployedPackages =
    instructions
      .filter((i) => i.op === 'RUN' && i.args.includes(' deploy --legacy --prod'))
      .map((i) => /^for \w+ in ([a-z -]+); do/.exec(i.args)?.[1]?.trim().split(/\s+/))
      .find(Boolean) ?? [];
  /** Runtime `COPY --from=build /out/<package>/<what> <destination>`, as destination → source. */
  const runtimeCopies = new Map(
    runtime
      .filter((i) => i.op === 'COPY' && i.args.startsWith('--from=build '))
      .map((i) => i.args.split(/\s+/).slice(1))
      .map(([source, destination]) => [destination!, source!]),
  );

  it('builds on Node 20 slim with the pnpm version package.json pins, and runs `pnpm build`', () => {
    expect(instructions.find((i) => i.op === 'ARG' && i.args.startsWith('NODE_IMAGE='))?.args).toBe('NODE_IMAGE=node:20-slim');
    const pinned = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { packageManager: string }).packageManager;
    expect(text).toContain(`npm install -g ${pinned}`);
    const runs = instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs).toContain('pnpm install --frozen-lockfile --offline');
    expect(runs).toContain('pnpm build');
    expect(runs.some((r) => r.includes('deploy --legacy --prod'))).toBe(true);
    expect(deployedPackages, 'the deploy loop').toEqual([...SERVICES, TOOLS_DIR]);
  });

  it('copies only sources that exist and that .dockerignore lets into the build context', () => {
    const copies = instructions.filter((i) => i.op === 'COPY' || i.op === 'ADD');
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const words = copy.args.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      const sources = paths.slice(0, -1);
      if (from) {
        expect(stages, `COPY --from=${from}`).toContain(from);
        for (const source of sources) {
          const deployed = /^\/out\/([a-z-]+)\/(package\.json|node_modules|dist)$/.exec(source);
          expect(deployed && deployedPackages.includes(deployed[1]!), `${source} is a deployed service or the tools`).toBeTruthy();
        }
        continue;
      }
      for (const source of sources) {
        expect(existsSync(join(repoRoot, source)), `COPY ${source}`).toBe(true);
        if (source !== '.') expect(isIgnored(source), `COPY ${source} is in the build context`).toBe(false);
      }
    }
    // What `COPY . .` must bring for `pnpm install` and `pnpm build`, and what it must leave out.
    for (const needed of [
      'package.json',
      'pnpm-lock.yaml',
      'pnpm-workspace.yaml',
      'scripts/build.ts',
      'packages/relay/src/main.ts',
      'tsconfig.base.json',
    ])
      expect(isIgnored(needed), needed).toBe(false);
    for (const left of ['node_modules', 'packages/relay/node_modules', 'packages/relay/dist', '.git'])
      expect(isIgnored(left), left).toBe(true);
  });

  it('runs as a non-root user under tini, with a HEALTHCHECK and a CMD that `pnpm build` produces', () => {
    const user = runtime.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(runtime.find((i) => i.op === 'RUN' && i.args.includes('apt-get install'))?.args).toMatch(/\btini\b/);
    expect(JSON.parse(runtime.find((i) => i.op === 'ENTRYPOINT')!.args)).toEqual(['/usr/bin/tini', '--']);

    const cmd = JSON.parse(runtime.find((i) => i.op === 'CMD')!.args) as string[];
    expect(serviceOf(cmd), cmd.join(' ')).toBeDefined();
    expect(cmd[0]).toBe('node');
    // Every service's dist is in the image.
    const copied = runtime.filter((i) => i.op === 'COPY').map((i) => i.args.split(/\s+/).at(-1));
    for (const service of SERVICES) expect(copied).toContain(`packages/${service}/dist`);

    const healthcheck = runtime.find((i) => i.op === 'HEALTHCHECK')!.args;
    const script = /CMD \["node", "([^"]+)"\]/.exec(healthcheck)?.[1];
    expect(copied, 'the healthcheck script is in the image').toContain(script);
    // Its fallback ports are the processes' METRICS_PORT defaults.
    const source = readFileSync(join(repoRoot, script!), 'utf8');
    const defaults = [loadBuilderConfig, loadRelayConfig].map((load) => load({ MONGODB_URI: 'mongodb://x' }).METRICS_PORT);
    defaults.push(loadApiConfig({ MONGODB_URI: 'mongodb://x', API_TOKENS: 'tok-0123456789abcdef=*' }).METRICS_PORT);
    expect(source).toContain(`[${defaults.join(', ')}]`);
    const exposed = runtime
      .filter((i) => i.op === 'EXPOSE')
      .flatMap((i) => i.args.split(/\s+/))
      .map(Number);
    for (const port of defaults) expect(exposed).toContain(port);
  });

  it('ships the ops tools: what `pnpm build` writes to tools/dist, with the production dependencies of tools/package.json', () => {
    const manifest = JSON.parse(readFileSync(join(repoRoot, TOOLS_DIR, 'package.json'), 'utf8')) as { name: string };
    // The deploy loop's `--filter "@chat3/$package"` finds the tools' workspace package by this name.
    expect(manifest.name).toBe(`@chat3/${TOOLS_DIR}`);
    const workspace = parse(readFileSync(join(repoRoot, 'pnpm-workspace.yaml'), 'utf8')) as { packages: string[] };
    expect(workspace.packages).toContain(TOOLS_DIR);
    // Same paths in the image (/app) as in the repository, so `node tools/dist/<tool>.js` works in both.
    for (const what of ['package.json', 'node_modules', 'dist'])
      expect(runtimeCopies.get(`${TOOLS_DIR}/${what}`)).toBe(`/out/${TOOLS_DIR}/${what}`);
    for (const [tool, source] of Object.entries(TOOLS)) {
      expect(existsSync(join(repoRoot, source)), `${tool}: ${source}`).toBe(true);
      expect(posix.dirname(toolOutput(tool as keyof typeof TOOLS)), `${tool} is built into the copied dist/`).toBe(`${TOOLS_DIR}/dist`);
    }
    // Everything a deployed package needs at run time is copied, for the services as for the tools.
    for (const name of deployedPackages) {
      const home = name === TOOLS_DIR ? TOOLS_DIR : `packages/${name}`;
      for (const what of ['package.json', 'node_modules', 'dist'])
        expect(runtimeCopies.get(`${home}/${what}`), `${home}/${what}`).toBe(`/out/${name}/${what}`);
    }
  });

  it('runs the tools, where the README and the compose file show it, in a stack service of the image', () => {
    const text = `${readFileSync(join(repoRoot, 'README.md'), 'utf8')}\n${composeText}`;
    const runs = [
      ...text.matchAll(/docker compose -f docker\/docker-compose\.yml (?:run|exec) ((?:-\S+(?: [A-Z_]+=\S+)? )*)(\S+) node (\S+)/g),
    ];
    const tools = new Set(runs.map((m) => m[3]));
    expect([...tools].sort()).toEqual(
      Object.keys(TOOLS)
        .map((t) => toolOutput(t as keyof typeof TOOLS))
        .sort(),
    );
    for (const [line, , service] of runs)
      expect(
        chat3Services.map(([name]) => name),
        line,
      ).toContain(service);
  });

  it('is what the compose file builds', () => {
    for (const [, service] of chat3Services)
      expect(join(resolve(dockerDir, service.build!.context), service.build!.dockerfile ?? 'Dockerfile')).toBe(
        join(repoRoot, 'Dockerfile'),
      );
    expect(dirname(composeFile)).toBe(dockerDir);
  });
});
