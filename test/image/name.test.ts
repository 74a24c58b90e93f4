// The image's name, one across the project: the Dockerfile builds it, the chart deploys
// it (image.repository, tag = appVersion) and passes it to the operator as the workers'
// image, the operator falls back to it without the chart, and the README tells a user to
// build and push exactly that. A worker image nothing builds cannot slip back in.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { DEFAULT_SINK_IMAGE } from '../../operator/reconcile.ts';
import { parseDockerfile } from './dockerfile.ts';

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

test('the operator\'s default worker image is the image the Dockerfile builds and the chart deploys', () => {
  const pkg = JSON.parse(read('package.json')) as { version: string };
  const chart = parse(read('charts/rockset-sink-operator/Chart.yaml')) as { appVersion: string };
  const values = parse(read('charts/rockset-sink-operator/values.yaml')) as { image: { repository: string; tag: string }; sinkImage: { repository: string; tag: string } };
  const instructions = parseDockerfile(read('Dockerfile'));
  const finalStage = Math.max(...instructions.map((i) => i.stage));
  const labels = instructions.filter((i) => i.stage === finalStage && i.keyword === 'LABEL').map((i) => i.args).join(' ');
  const label = (name: string) => new RegExp(`${name.replace(/\./g, '\\.')}="([^"]+)"`).exec(labels)?.[1];

  const chartImage = `${values.image.repository}:${values.image.tag || chart.appVersion}`;
  assert.equal(DEFAULT_SINK_IMAGE, chartImage);
  assert.equal(`${label('org.opencontainers.image.title')}:${label('org.opencontainers.image.version')}`, chartImage);
  assert.equal(chart.appVersion, pkg.version);
  // The chart's workers run the operator's own image unless sinkImage says otherwise.
  assert.deepEqual([values.sinkImage.repository, values.sinkImage.tag], ['', '']);
  // What the Dockerfile and the README tell a user to build and push.
  const build = `docker build -t <registry>/${chartImage} .`;
  assert.ok(read('Dockerfile').includes(build), `the Dockerfile shows ${build}`);
  assert.ok(read('README.md').includes(build), `the README shows ${build}`);
});
