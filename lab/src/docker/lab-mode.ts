import { composeCommand, engineAnswers } from './docker-engine';
import { type LabImage, missingLabImages } from './lab-images';

export type LabMode = 'auto' | 'docker' | 'local';

export interface ModeChoice {
  mode: 'docker' | 'local';
  /** One line: why this mode. */
  reason: string;
  /** Docker was asked for but cannot run: what is missing. */
  problem?: string;
}

/** What the choice looks at: the real engine, Compose and images, or stand-ins in a test. */
export interface DockerProbes {
  engineAnswers(): boolean;
  composeCommand(): string[] | undefined;
  /** The missing images of a lab that also runs the optional images `also` (OPTIONAL_LAB_IMAGES). */
  missingLabImages(also?: readonly LabImage[]): Promise<string[]>;
}

const REAL_PROBES: DockerProbes = { engineAnswers, composeCommand, missingLabImages };

/**
 * Docker only when an engine answers, Compose is installed and every image is there (with the optional images the
 * lab runs: `also`); `local` is always possible.
 */
export async function chooseMode(
  requested: LabMode,
  probes: DockerProbes = REAL_PROBES,
  also: readonly LabImage[] = [],
): Promise<ModeChoice> {
  if (requested === 'local') return { mode: 'local', reason: 'asked for with --mode local' };
  const missing = !probes.engineAnswers()
    ? 'no Docker engine answers `docker info` (start one: npm run lab -- engine)'
    : !probes.composeCommand()
      ? 'Docker Compose is not installed (Debian: apt-get install docker-compose)'
      : await probes
          .missingLabImages(also)
          .then((images) =>
            images.length > 0 ? `images missing: ${images.join(', ')} (build them: npm run lab -- images)` : undefined,
          );
  if (requested === 'docker') {
    return missing
      ? { mode: 'docker', reason: 'asked for with --mode docker', problem: missing }
      : { mode: 'docker', reason: 'asked for with --mode docker' };
  }
  return missing
    ? { mode: 'local', reason: `${missing}; --mode docker to insist` }
    : {
        mode: 'docker',
        reason: 'an engine answers, Compose is installed and the images are built; --mode local for processes',
      };
}
