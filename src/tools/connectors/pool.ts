// The workspace's connectors, started on first use and closed together.
import { AirlockError } from '../../errors.js';
import type { ConnectorConfig, ToolContract } from '../../config/schema.js';
import type { Connector } from '../connector.js';
import { HttpConnector } from './http.js';
import { McpStdioConnector } from './mcp-stdio.js';
import { InProcessConnector } from './in-process.js';
import { resolveHeaders } from './headers.js';
import { AIRLOCK_ROOT } from '../../util/package-root.js';


/** Replaces `${node}`, `${airlock}` and `${workspace}` in a connector's command line. */
export function interpolate(value: string, workspaceDir: string): string {
  return value.replace(/\$\{(node|airlock|workspace)\}/g, (_m, key: string) =>
    key === 'node' ? process.execPath : key === 'airlock' ? AIRLOCK_ROOT : workspaceDir,
  );
}

/** Holds one live connector per configured name. */
export class ConnectorPool {
  private readonly live = new Map<string, Connector>();
  private readonly tools: readonly ToolContract[];
  /** `tools`: the workspace's tool contracts; an `http` connector gets the ones it serves (their `http` requests). */
  constructor(
    private readonly configs: Readonly<Record<string, ConnectorConfig>>,
    private readonly workspaceDir: string,
    tools: Iterable<ToolContract> = [],
  ) {
    this.tools = [...tools];
  }

  /** The connector named `name`, created on first use. */
  get(name: string): Connector {
    const existing = this.live.get(name);
    if (existing) return existing;
    const cfg = this.configs[name];
    if (!cfg) throw new AirlockError('not-found', `connector \`${name}\` is not declared in the workspace`);
    if (cfg.kind === 'in-process') {
      const connector = new InProcessConnector(name);
      this.live.set(name, connector);
      return connector;
    }
    if (cfg.kind === 'mcp-http') {
      const connector = new McpStdioConnector(name, { url: cfg.url, headers: () => resolveHeaders(cfg.headers, process.env) });
      this.live.set(name, connector);
      return connector;
    }
    if (cfg.kind === 'http') {
      const connector = new HttpConnector(name, cfg, this.tools.filter((t) => t.connector === name));
      this.live.set(name, connector);
      return connector;
    }
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(cfg.env)) env[k] = interpolate(v, this.workspaceDir);
    const connector = new McpStdioConnector(name, {
      command: interpolate(cfg.command, this.workspaceDir),
      args: cfg.args.map((a) => interpolate(a, this.workspaceDir)),
      env,
      cwd: this.workspaceDir,
    });
    this.live.set(name, connector);
    return connector;
  }

  /** Stops every started connector process. */
  async closeAll(): Promise<void> {
    const all = [...this.live.values()];
    this.live.clear();
    await Promise.all(all.map((c) => c.close()));
  }
}
