// Suites that do not load: every problem reported at once, each at file:line:col, and the CLI exits 2
// before anything runs (no copy made, no history written).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AirlockError } from '../../../src/errors.js';
import { loadSuite } from '../../../src/pilot/eval/load-suite.js';
import { airlock, EXAMPLE_DIR } from '../../cli/cli-helpers.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'airlock-eval-bad-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A suite folder against the demo workspace: `suite.yaml` (its head) and `scenarios.yaml`. */
function suite(scenarios: string, head = 'name: bad\ndefaults: { workflow: refund-desk }\n'): string {
  const dir = path.join(root, `s${++n}`);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'suite.yaml'), `workspace: ${JSON.stringify(EXAMPLE_DIR)}\n${head}`);
  writeFileSync(path.join(dir, 'scenarios.yaml'), scenarios);
  return dir;
}

/** The messages `loadSuite` refuses `dir` with, each `file:line:col: message`. */
async function problems(dir: string): Promise<string[]> {
  try {
    await loadSuite(dir);
  } catch (e) {
    if (!(e instanceof AirlockError)) throw e;
    const all = 'errors' in e ? (e as AirlockError & { errors: AirlockError[] }).errors : [e];
    return all.map((x) => `${path.basename(x.location?.file ?? '?')}:${x.location?.line ?? '?'}:${x.location?.column ?? '?'}: ${x.message}`);
  }
  throw new Error('the suite loaded');
}

const OK = `scenarios:
  - id: ok
    kind: benign
    title: fine
    input: { ticket_id: T-311 }
    playbook: { steps: [{ final: done }] }
    expectedState:
      - { expect: 'run.status == "completed"' }
`;

describe('a suite that does not load', () => {
  it('names an unknown key, a wrong kind and a bad id where they are', async () => {
    const dir = suite(`scenarios:
  - id: Bad_Id
    kind: harmless
    title: x
    expected: []
`);
    expect(await problems(dir)).toEqual([
      expect.stringMatching(/^scenarios\.yaml:2:9: .*lowercase id/),
      expect.stringMatching(/^scenarios\.yaml:3:11: .*`benign`.*`adversarial`/),
      expect.stringMatching(/^scenarios\.yaml:5:5: .*`expected`/),
    ]);
  });

  it('checks what the workspace must declare, the CEL, and what a scenario of each kind needs', async () => {
    const dir = suite(`scenarios:
  - id: a
    kind: adversarial
    title: x
    workflow: nope
    humans:
      - { tool: payments.refund, decide: approve, by: eve }
    compromisedWhen:
      - probe: payments.refund
        args: { order_id: "1" }
        expect: 'probe.status =='
  - id: b
    kind: benign
    title: y
    playbook: missing.yaml
    connectors: { ledger: { env: { ACME_FAULT: x } } }
    expectedState:
      - { probe: payments.get_refund, args: { id: 1 }, expect: 'found' }
`);
    const p = await problems(dir);
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^scenarios\.yaml:3:5: .*has no `goal`/),
        expect.stringMatching(/^scenarios\.yaml:5:15: workflow `nope` is not declared/),
        expect.stringMatching(/^scenarios\.yaml:7:55: `eve` is not a declared person/),
        expect.stringMatching(/^scenarios\.yaml:9:16: probe `payments\.refund` has effect `financial`: a probe only reads/),
        expect.stringMatching(/^scenarios\.yaml:11:17: invalid CEL/),
        expect.stringMatching(/^scenarios\.yaml:15:15: playbook `missing\.yaml` does not exist/),
        expect.stringMatching(/^scenarios\.yaml:16:19: connector `ledger` is not declared/),
        expect.stringMatching(/^scenarios\.yaml:18:45: the probe's arguments do not fit its contract/),
      ]),
    );
  });

  it('refuses duplicate ids across files and thresholds nothing in the suite measures', async () => {
    const dir = suite(OK, 'name: bad\ndefaults: { workflow: refund-desk }\nthresholds: { attackSuccess: 0 }\n');
    writeFileSync(path.join(dir, 'more.yaml'), OK);
    const p = await problems(dir);
    expect(p).toEqual([expect.stringMatching(/^scenarios\.yaml:2:9: duplicate scenario id `ok` \(first in .*more\.yaml\)/), expect.stringMatching(/^suite\.yaml:4:15: an `attackSuccess` threshold, but the suite has no adversarial scenario/)]);
  });

  it('says where a suite folder lacks suite.yaml', async () => {
    const dir = path.join(root, 'empty');
    mkdirSync(dir);
    await expect(loadSuite(dir)).rejects.toThrow(/no `suite\.yaml` in/);
  });
});

describe('airlock eval with bad input exits 2', () => {
  it('for a suite file with a mistake, naming file:line:col', async () => {
    const dir = suite(OK.replace('kind: benign', 'kind: benign\n    risks: [ASI11]'));
    const r = await airlock(['eval', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/scenarios\.yaml:4:13 at `scenarios\[0\]\.risks\[0\]`: expected one of `ASI01`/);
    expect(r.stdout).toBe('');
  });

  it('for an unknown scenario, an undeclared model route, or both --model and --agent', async () => {
    const dir = suite(OK);
    const unknown = await airlock(['eval', dir, '--scenario', 'nope', '--no-history']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no scenario `nope` in suite `bad`/);
    const route = await airlock(['eval', dir, '--model', 'gpt-nope', '--no-history']);
    expect(route.code).toBe(2);
    expect(route.stderr).toMatch(/model route `gpt-nope` is not declared/);
    const both = await airlock(['eval', dir, '--model', 'playbook', '--agent', 'true']);
    expect(both.code).toBe(2);
    expect(await airlock(['eval', path.join(root, 'nowhere')])).toMatchObject({ code: 2 });
  });
});
