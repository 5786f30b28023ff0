// The composition root: opens a workspace and wires store, policy, gateway, runner and approvals together.
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { loadWorkspace } from './config/load.js';
import type { WorkflowConfig, Workspace } from './config/schema.js';
import type { Model } from './orchestration/model.js';
import { AirlockError } from './errors.js';
import { compilePolicies, type CompiledPolicies } from './policy/compile.js';
import { openStore, storeTarget } from './store/open-store.js';
import { checkSharedKey } from './store/key-fingerprints.js';
import { Checkpointer, checkpointSigner as signerOfCheckpoints } from './audit/checkpoints.js';
import { witnessesOf } from './audit/witness.js';
import type { Store } from './store/store.js';
import { AuditWriter } from './audit/writer.js';
import { openAIEmbedder, type Embedder } from './context/sources/embeddings.js';
import { ConnectorPool } from './tools/connectors/pool.js';
import { Gateway } from './gateway/gateway.js';
import { DriftGuard } from './tools/drift.js';
import { Runner } from './orchestration/runner.js';
import { modelFor } from './routing/route.js';
import { Sessions } from './orchestration/sessions.js';
import { InstanceLease } from './orchestration/instance.js';
import { thisInstance } from './orchestration/recovery.js';
import { compileVisibility } from './policy/visibility.js';
import { createNotifier, type Notifier } from './notify/notifier.js';
import { slackChannels } from './gateway/approvals/slack.js';
import { emailChannel } from './gateway/approvals/email.js';
import { linksKey } from './gateway/approvals/links.js';
import { stateKey } from './util/key-file.js';
import type { ApprovalId, JsonObject, Principal, RunId } from './types.js';
import { resolvePrincipal } from './identity/principal.js';
import type { ApprovalEvent, Notify } from './gateway/approvals/events.js';
import type { ReviseDeps } from './gateway/approvals/vote.js';
import { StandingGrants, type GrantDeps } from './gateway/approvals/grants.js';
import { buildEvidence } from './gateway/approvals/evidence.js';
import { concludeRun } from './orchestration/conclude.js';
import type { RunState } from './orchestration/run-machine.js';
import { afterDecision, type RunFate } from './orchestration/after-decision.js';
import type { ApprovalRecord, StoredSpan } from './store/store.js';
import { Metrics } from './telemetry/metrics.js';
import { approvalWaitEnded } from './telemetry/approval-wait.js';

/** An opened workspace with everything needed to govern runs in it. Close it when done. */
export interface Airlock {
  readonly workspace: Workspace;
  readonly policies: CompiledPolicies;
  readonly store: Store;
  readonly audit: AuditWriter;
  /** Signed checkpoints of the trail (audit/checkpoints.ts): made every N records, every T seconds and on close. */
  readonly checkpoints: Checkpointer;
  readonly gateway: Gateway;
  readonly runner: Runner;
  readonly connectors: ConnectorPool;
  /** Runs driven by external agents (MCP, HTTP API, SDK) through the same gateway. */
  readonly sessions: Sessions;
  /** Approval webhooks: publish events to the outbox, deliver what is due. */
  readonly notifier: Notifier;
  readonly now: () => Date;
  /** What deciding approvals and grants needs (`vote`, `editApproval`, `createGrant`, `sweepApprovals`). */
  readonly approvalDeps: ReviseDeps & GrantDeps;
  /** The declared principal for `kind:id` (or a bare id, looked up among all kinds). */
  principal(ref: string): Principal;
  /** Moves a run on after people decided one of its approvals (orchestration/after-decision.ts): the one place that says what happens next. */
  afterDecision(approval: Pick<ApprovalRecord, 'runId'>, decided: boolean): Promise<RunFate>;
  /** This instance's Prometheus metrics (its own registry), served at `/metrics`. */
  readonly metrics: Metrics;
  /** The workspace's `embeddings`, built on first use (its API key read then: a `config` error when missing); undefined without the section. */
  readonly embedder: (() => Embedder) | undefined;
  /** The spans kept locally for run `runId` (one trace across its pauses and restarts), oldest first: the console's waterfall. */
  spansForRun(runId: RunId): Promise<readonly StoredSpan[]>;
  /** Listens to the approval events of this process (requested, decided, expired...): the console's live inbox. Returns how to stop. */
  onApprovalEvent(listener: (event: ApprovalEvent, data: JsonObject) => void): () => void;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** The clock (tests move it to expire approvals). */
  readonly now?: () => Date;
  /** Replaces model routing (tests drive runs with a scripted attacker). */
  readonly modelFor?: (workflow: WorkflowConfig) => Model;
  /** How long this instance's lease lasts unrenewed (default 60 s): how soon the others take over its runs should it die elsewhere. */
  readonly leaseTtlMs?: number;
}

/** Loads a workspace and compiles its policies, without opening the store or starting connectors. */
export async function loadAndCompile(dir: string): Promise<{ workspace: Workspace; compiled: CompiledPolicies }> {
  const workspace = await loadWorkspace(dir);
  const compiled = compilePolicies(workspace.policySources, [...workspace.tools.values()], {
    principals: workspace.file.identity.principals,
    valueBudgets: workspace.file.valueBudgets,
  });
  return { workspace, compiled };
}

/** Loads and validates the workspace in `dir`, compiles its policies, opens its store. */
export async function openAirlock(dir: string, opts: OpenOptions = {}): Promise<Airlock> {
  const { workspace, compiled: policies } = await loadAndCompile(dir);
  const checkpointConfig = workspace.file.audit.checkpoints;
  // A key named in the workspace is read now (a bad one is a config error before anything opens); the
  // default key file is made at the first checkpoint.
  const checkpointSigner = once(() => signerOfCheckpoints(workspace.dir, workspace.file.name, checkpointConfig));
  if (checkpointConfig.key) checkpointSigner();
  const stateDir = path.join(workspace.dir, '.airlock');
  // One registry per instance: several instances in one process (tests) never share counters.
  const metrics = new Metrics((tool) => workspace.tools.get(tool)?.connector);
  // The workspace's store: the embedded SQLite file, or PostgreSQL (migrated first); AIRLOCK_STORE_URL overrides it.
  const sealingKey = once(() => payloadsKey(stateDir));
  const store = await openStore(workspace.dir, workspace.file.store, {
    onGroupCommit: (n) => metrics.observeGroupCommit(n),
    sealing: { mode: workspace.file.store.sensitivePayloads, key: sealingKey },
  });
  // Key files are made once the store opened, never for one that fails to. Instances on one PostgreSQL
  // database (other hosts, other `.airlock` folders) must hold the same ones (store/key-fingerprints.ts), else
  // one's sealed payloads and keyed hashes are the others' noise. (Processes on one embedded store share its
  // folder and its keys; there a first registration would be a write, which a reader must not wait for.)
  const hashKey = auditKey(stateDir);
  if (storeTarget(workspace.dir, workspace.file.store).kind === 'postgres') {
    try {
      await checkSharedKey(store, 'audit key', hashKey, path.join(stateDir, 'audit.key'));
      if (workspace.file.store.sensitivePayloads === 'encrypt') await checkSharedKey(store, 'payload key', sealingKey(), path.join(stateDir, 'payloads.key'));
    } catch (e) {
      await store.close();
      throw e;
    }
  }
  const now = opts.now ?? (() => new Date());
  const checkpoints = new Checkpointer(store, checkpointSigner, {
    every: checkpointConfig.every,
    intervalMs: checkpointConfig.intervalSeconds * 1000,
    now,
    witnesses: witnessesOf(workspace.dir, workspace.file.audit.witnesses, now),
    onError: (e, doing) => process.stderr.write(`airlock: could not ${doing}: ${e instanceof Error ? e.message : String(e)}\n`),
  });
  checkpoints.start();
  // Metrics are read off the trail as it is written; the wait for a person becomes a span when it ends.
  const audit = new AuditWriter(store, hashKey, now, {
    appended: (drafts, ms) => {
      metrics.observeAuditAppend(ms);
      metrics.observeRecords(drafts);
      checkpoints.appended(drafts.length);
    },
    waitEnded: (approval, at) => approvalWaitEnded(approval, at, metrics),
  });
  const embeddings = workspace.file.embeddings;
  const embedder = embeddings ? once(() => openAIEmbedder(workspace.dir, embeddings)) : undefined;
  const connectors = new ConnectorPool(workspace.file.connectors, workspace.dir, workspace.tools.values(), {
    store,
    principals: workspace.file.identity.principals,
    sources: Object.keys(workspace.file.sources),
    now,
    ...(embedder ? { embedder } : {}),
  });
  const principal = principalLookup(workspace);
  // Webhook notifications are queued through this; it is bound once the notifier exists.
  let notify: Notify | undefined;
  const notifyLate: Notify = (event, data) => notify?.(event, data) ?? Promise.resolve();
  const base = { store, audit, now, policies, workspace, notify: notifyLate };
  const gateway: Gateway = new Gateway({
    driftGuard: new DriftGuard({ connectors, contracts: workspace.tools.values() }),
    workspace,
    policies,
    store,
    connectors,
    audit,
    now,
    newApprovalId: () => `apr_${randomBytes(6).toString('hex')}` as ApprovalId,
    grants: new StandingGrants({ ...base, principal }),
    evidence: (input) =>
      buildEvidence(
        {
          store,
          workspace,
          readTool: (probe, args, runId) => gateway.probe(probe.name, args, 'evidence', { runId, principal: null }),
        },
        input,
      ),
    notify: notifyLate,
    metrics,
  });
  const approvalDeps = { ...base, gateway, principal, newGrantId: () => `grt_${randomBytes(6).toString('hex')}` };
  const newRunId = () => `run_${randomUUID().replace(/-/g, '').slice(0, 16)}` as RunId;
  const conclude = (runId: RunId, state: RunState, agent: Principal) => concludeRun({ store, audit, now, workspace, readTool: (tool, args) => gateway.probe(tool, args, 'run-check', { runId, principal: null }) }, runId, state, agent);
  // This process as one instance on the store: the lease the runs it drives hang on (orchestration/instance.ts).
  const lease = new InstanceLease({ store, now, identity: thisInstance(`ins_${randomBytes(6).toString('hex')}`), ...(opts.leaseTtlMs ? { ttlMs: opts.leaseTtlMs } : {}) });
  const sessions = new Sessions({
    lease,
    workspace,
    store,
    gateway,
    audit,
    visibility: compileVisibility(policies),
    now,
    newRunId,
    policySetHash: policies.policySetHash,
    concurrentCallsPerRun: workspace.file.server.limits.concurrentCallsPerRun,
    conclude,
    notify: notifyLate,
    principal,
  });
  const runner = new Runner({
    workspace,
    store,
    gateway,
    audit,
    modelFor: opts.modelFor ?? ((wf) => modelFor(workspace, wf)),
    principal,
    now,
    newRunId,
    policySetHash: policies.policySetHash,
    notify: notifyLate,
    conclude,
    lease,
  });
  // Where people already are: Slack and email beside the webhooks, through the same outbox.
  const email = workspace.file.notifications.email;
  const channels = [...slackChannels(workspace, { store }), ...(email && workspace.file.server.publicUrl ? [emailChannel(email, { store, workspace, policies, principal, now, publicUrl: workspace.file.server.publicUrl, linksKey: linksKey(stateDir) })] : [])];
  const notifier = createNotifier({ store, workspace, now, channels });
  // Listeners in this process (the console's inbox) hear each event as the webhooks' outbox gets it.
  const listeners = new Set<(event: ApprovalEvent, data: JsonObject) => void>();
  notify = (event, data) => {
    for (const l of listeners) {
      try {
        l(event, data);
      } catch {
        // A listener's fault never stops a decision.
      }
    }
    return notifier.publish(event, data);
  };
  return {
    workspace,
    policies,
    store,
    audit,
    checkpoints,
    gateway,
    runner,
    connectors,
    sessions,
    notifier,
    now,
    approvalDeps,
    principal,
    afterDecision: (approval, decided) => afterDecision({ store, resume: (id) => runner.resumeHere(id), wake: (id) => runner.wake(id) }, approval, decided),
    metrics,
    embedder,
    spansForRun: (runId) => store.spansForRun(runId),
    onApprovalEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      await sessions.stop();
      await connectors.closeAll();
      await checkpoints.stop();
      await store.close();
    },
  };
}

/** Resolves `kind:id` or a bare id to a declared principal (identity/principal.ts); an undeclared one is an input error. */
function principalLookup(workspace: Workspace): (ref: string) => Principal {
  const principals = workspace.file.identity.principals;
  return (ref) => {
    const r = resolvePrincipal(principals, ref);
    if (r.ok) return r.principal;
    const declared = principals.map((p) => `${p.kind}:${p.id}`).join(', ');
    throw new AirlockError('input', r.reason === 'wrong-kind' ? `principal \`${ref}\` is declared with kind \`${r.declaredKind ?? '?'}\`` : `principal \`${ref}\` is not declared in the workspace`, {
      hint: `declared: ${declared}`,
    });
  };
}

/** The key sensitive audit payloads are sealed with at rest (AES-256-GCM), created on first use, owner-only. */
function payloadsKey(stateDir: string): Uint8Array {
  return stateKey(stateDir, 'payloads.key', (file, bytes) => {
    throw new AirlockError('store-corrupt', `payload key \`${file}\` is ${bytes} bytes, expected 32`, {
      hint: 'restore it from backup: without it, the sealed payloads of confidential and restricted content cannot be read',
    });
  });
}

/**
 * The workspace's audit key (HMAC for sensitive payload hashes), created on first use,
 * readable by the owner only. Losing it makes sensitive hashes unlinkable, not the chain invalid.
 */
function auditKey(stateDir: string): Uint8Array {
  return stateKey(stateDir, 'audit.key', (file, bytes) => {
    throw new AirlockError('store-corrupt', `audit key \`${file}\` is ${bytes} bytes, expected 32`, {
      hint: 'restore it from backup; deleting it makes earlier sensitive payload hashes unverifiable',
    });
  });
}

/** `make`'s value, made on the first call and kept. */
function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}
