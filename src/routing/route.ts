// Model routing: picks the model for a workflow's step from the workspace's declared routes.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import type { ModelRoute, WorkflowConfig, Workspace } from '../config/schema.js';
import type { Model } from '../orchestration/model.js';
import { ScriptedModel, loadPlaybook } from './providers/scripted.js';
import { OpenAIChatModel } from './providers/openai-chat.js';
import { AnthropicMessagesModel } from './providers/anthropic-messages.js';
import type { ProviderOptions } from './providers/common.js';

/**
 * The model a workflow runs on: the scripted playbook, an OpenAI-compatible endpoint or Anthropic's Messages API. Risk- and
 * cost-based routing is not built yet (issue #11). Throws
 * `AirlockError` (`config`) when the workflow names no model (only external agents can drive it).
 */
export function modelFor(workspace: Workspace, workflow: WorkflowConfig): Model {
  if (workflow.model === undefined) {
    const routes = Object.keys(workspace.file.models);
    throw new AirlockError('config', `workflow \`${workflow.name}\` names no \`model\`, so Airlock's own agent loop cannot run it`, {
      hint:
        `let an external agent drive it (\`airlock serve\` or \`airlock mcp\`), or add \`model: NAME\` to the workflow file ` +
        (routes.length > 0 ? `(declared routes: ${routes.map((r) => `\`${r}\``).join(', ')})` : 'and declare that route under `models:` in airlock.yaml'),
    });
  }
  const route = workspace.file.models[workflow.model];
  if (!route) {
    throw new AirlockError('config', `workflow \`${workflow.name}\` names model \`${workflow.model}\`, which is not declared`, {
      hint: 'declare it under `models:` in airlock.yaml',
    });
  }
  switch (route.kind) {
    case 'scripted':
      return new ScriptedModel(workflow.model, loadPlaybook(path.resolve(workspace.dir, route.playbook)));
    case 'openai-chat':
      return new OpenAIChatModel(providerOptions(workspace.dir, workflow.model, route));
    case 'anthropic-messages':
      return new AnthropicMessagesModel({ ...providerOptions(workspace.dir, workflow.model, route), maxTokens: route.maxTokens });
  }
}

/** What every provider adapter takes from its route, the key read now. */
function providerOptions(dir: string, routeName: string, route: Extract<ModelRoute, { kind: 'openai-chat' | 'anthropic-messages' }>): ProviderOptions {
  return {
    routeName,
    model: route.model,
    baseUrl: route.baseUrl,
    apiKey: readApiKey(dir, routeName, route.apiKey),
    timeoutMs: route.timeoutMs,
    maxRetries: route.maxRetries,
    temperature: route.temperature,
    system: route.system,
    price: route.price,
  };
}

/** A route's API key, from the environment or a file; a key the route names but cannot find is a `config` error. */
function readApiKey(dir: string, routeName: string, from: { env: string } | { file: string } | undefined): string | null {
  if (!from) return null;
  if ('env' in from) {
    const v = process.env[from.env]?.trim();
    if (!v) throw new AirlockError('config', `model route \`${routeName}\` reads its API key from \`${from.env}\`, which is not set`, { hint: `export ${from.env}=... before starting Airlock` });
    return v;
  }
  const file = path.resolve(dir, from.file);
  let v: string;
  try {
    v = readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new AirlockError('config', `model route \`${routeName}\` cannot read its API key file: ${e instanceof Error ? e.message : String(e)}`, { location: { file }, hint: 'write the key alone in that file (mode 600)' });
  }
  if (!v) throw new AirlockError('config', `model route \`${routeName}\`'s API key file is empty`, { location: { file } });
  return v;
}
