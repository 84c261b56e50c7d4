// Regenerates the checked-in docker-compose.yml from labs/default.json: node lab/dist/docker/write-default-compose.js
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { readLabDefinition } from '../lab-definition';
import { composeProject, renderComposeFile } from './compose-file';

const root = resolve(__dirname, '..', '..', '..');
writeFileSync(
  resolve(root, 'docker-compose.yml'),
  renderComposeFile(composeProject(readLabDefinition(resolve(root, 'labs/default.json')))),
);
