/**
 * Covers the configuration reference in docs/configuration.md: generated from the settings table
 * (src/config/settings.ts) by scripts/generate-settings-doc.ts, it lists every setting, and this
 * test fails when the page is stale (run `npm run docs:settings`).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { settingsReference } from '../../src/config/index.js';
import { SETTINGS } from '../../src/config/settings.js';
import { CONFIGURATION_DOC, withCurrentReference } from '../../scripts/generate-settings-doc.js';

describe('the configuration reference', () => {
  it('is current: docs/configuration.md holds what the settings table generates (npm run docs:settings)', () => {
    const page = readFileSync(CONFIGURATION_DOC, 'utf8');
    assert.equal(page, withCurrentReference(page));
  });

  it('names every setting with its variable and flag', () => {
    const reference = settingsReference();
    for (const spec of Object.values(SETTINGS)) {
      assert.ok(reference.includes(`| \`${spec.env}\` | \`--${spec.flag} `), spec.env);
    }
  });
});
