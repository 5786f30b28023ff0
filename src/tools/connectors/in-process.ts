// The connector for tools that run in the caller's process (SDK-wrapped functions): Airlock never calls them.
import type { Connector, ConnectorResult, UpstreamTool } from '../connector.js';

/**
 * Stands for tools the caller executes itself after asking Airlock (authorize mode). A request to
 * have Airlock execute one fails cleanly, saying how to use it.
 */
export class InProcessConnector implements Connector {
  constructor(readonly name: string) {}

  async call(tool: string): Promise<ConnectorResult> {
    return {
      ok: false,
      failure: 'tool-error',
      message:
        `tool \`${this.name}.${tool}\` runs in the caller's process: ask with the decision API ` +
        '(POST /v1/decisions, or the SDK) and report the outcome; Airlock does not execute it',
    };
  }

  async listTools(): Promise<readonly UpstreamTool[]> {
    return [];
  }

  async close(): Promise<void> {}
}
