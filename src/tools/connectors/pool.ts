// The workspace's connectors, started on first use, handed out with their results normalised, and closed together.
import { AirlockError } from '../../errors.js';
import type { ConnectorConfig, ToolContract } from '../../config/schema.js';
import type { Connector } from '../connector.js';
import { HttpConnector } from './http.js';
import { McpStdioConnector } from './mcp-stdio.js';
import { InProcessConnector } from './in-process.js';
import { ContextConnector, type ContextConnectorDeps } from './context.js';
import { resolveHeaders } from './headers.js';
import { NormalisedConnector } from './normalise.js';
import { AIRLOCK_ROOT } from '../../util/package-root.js';

/** Replaces `${node}`, `${airlock}` and `${workspace}` in a connector's command line. */
export function interpolate(value: string, workspaceDir: string): string {
  return value.replace(/\$\{(node|airlock|workspace)\}/g, (_m, key: string) =>
    key === 'node' ? process.execPath : key === 'airlock' ? AIRLOCK_ROOT : workspaceDir,
  );
}

/** A `context` connector with no store given: no source is searchable or readable, so every search finds nothing. */
const NO_CONTEXT: Omit<ContextConnectorDeps, 'resultLimit'> = {
  store: { searchContext: () => Promise.resolve([]), readContextDocument: () => Promise.resolve([]) },
  principals: [],
  sources: [],
  now: () => new Date(),
};

/**
 * Holds one live connector per configured name. INVARIANT: every connector it hands out answers
 * through `NormalisedConnector`, so the gateway only ever sees results canonical JSON can hold.
 */
export class ConnectorPool {
  private readonly live = new Map<string, NormalisedConnector>();
  private readonly tools: readonly ToolContract[];
  /**
   * `tools`: the workspace's tool contracts; an `http` connector gets the ones it serves (their `http`
   * requests). `context`: what a `context` connector searches (without it, such a connector refuses every call).
   */
  constructor(
    private readonly configs: Readonly<Record<string, ConnectorConfig>>,
    private readonly workspaceDir: string,
    tools: Iterable<ToolContract> = [],
    private readonly context?: Omit<ContextConnectorDeps, 'resultLimit'>,
  ) {
    this.tools = [...tools];
  }

  /** The connector named `name`, created on first use. */
  get(name: string): Connector {
    const existing = this.live.get(name);
    if (existing) return existing;
    const connector = new NormalisedConnector(this.create(name));
    this.live.set(name, connector);
    return connector;
  }

  /** The ids of the server processes a stdio connector has running now (for operators and tests). */
  pids(name: string): number[] {
    const inner = this.live.get(name)?.inner;
    return inner instanceof McpStdioConnector ? inner.pids() : [];
  }

  private create(name: string): Connector {
    const cfg = this.configs[name];
    if (!cfg) throw new AirlockError('not-found', `connector \`${name}\` is not declared in the workspace`);
    switch (cfg.kind) {
      case 'in-process':
        return new InProcessConnector(name);
      case 'context':
        return new ContextConnector(name, { ...(this.context ?? NO_CONTEXT), resultLimit: cfg.resultLimit });
      case 'http':
        return new HttpConnector(name, cfg, this.tools.filter((t) => t.connector === name));
      case 'mcp-http':
        return new McpStdioConnector(name, { url: cfg.url, headers: () => resolveHeaders(cfg.headers, process.env) }, { pool: cfg.pool });
      case 'mcp-stdio': {
        const env: Record<string, string> = {};
        for (const [k, v] of Object.entries(cfg.env)) env[k] = interpolate(v, this.workspaceDir);
        const launch = {
          command: interpolate(cfg.command, this.workspaceDir),
          args: cfg.args.map((a) => interpolate(a, this.workspaceDir)),
          env,
          cwd: this.workspaceDir,
        };
        return new McpStdioConnector(name, launch, { pool: cfg.pool });
      }
    }
  }

  /** Stops every started connector process. */
  async closeAll(): Promise<void> {
    const all = [...this.live.values()];
    this.live.clear();
    await Promise.all(all.map((c) => c.close()));
  }
}
