// Model routing: picks the model for a workflow's step from the workspace's declared routes.
import path from 'node:path';
import { AirlockError } from '../errors.js';
import type { ModelRoute, WorkflowConfig, Workspace } from '../config/schema.js';
import type { Model } from '../orchestration/model.js';
import { ScriptedModel, loadPlaybook } from './providers/scripted.js';
import { OpenAIChatModel } from './providers/openai-chat.js';
import { AnthropicMessagesModel } from './providers/anthropic-messages.js';
import { OpenAIResponsesModel } from './providers/openai-responses.js';
import type { ProviderOptions } from './providers/common.js';
import { RoutedModel } from './router.js';
import { AUTO_ROUTE } from '../config/route-checks.js';
import { readSecret } from '../config/secrets.js';

/**
 * The model a workflow runs on: the route it names (the scripted playbook, an OpenAI-compatible
 * endpoint, Anthropic's Messages API) with its fallbacks, or with `model: auto` the workspace's
 * routing rules, each turn kept to routes cleared for what the run has read (router.ts). Throws
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
  if (workflow.model !== AUTO_ROUTE && !workspace.file.models[workflow.model]) {
    throw new AirlockError('config', `workflow \`${workflow.name}\` names model \`${workflow.model}\`, which is not declared`, {
      hint: 'declare it under `models:` in airlock.yaml',
    });
  }
  // What a proposal's risk is, for rules on it: the gateway's judgement of each tool the workflow may call.
  const toolRisk = new Map(workflow.tools.flatMap((t) => {
    const c = workspace.tools.get(t);
    return c ? [[t, c.risk] as const] : [];
  }));
  const routed = new RoutedModel(workspace.file, { name: workflow.name, model: workflow.model, tier: workflow.tier, stepKind: workflow.stepKind, toolRisk }, (name) => buildRoute(workspace, name));
  // Every route a turn could reach is built now: a key that cannot be read stops the run before it starts.
  for (const name of reachableRoutes(workspace.file, workflow.model)) routed.prepare(name);
  return routed;
}

/** The routes a workflow's turns may reach: its route (or every routing rule's) and their fallbacks. */
function reachableRoutes(file: Workspace['file'], model: string): string[] {
  const seen = new Set<string>();
  const queue = model === AUTO_ROUTE ? file.routing.map((r) => r.use) : [model];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    const route = file.models[name];
    if (!route || seen.has(name)) continue;
    seen.add(name);
    queue.push(...route.fallback);
  }
  return [...seen];
}

/**
 * The model behind one declared route, alone: no fallbacks, no routing rules; only this route's key
 * is read. Throws `AirlockError` (`config`) when the route is not declared or its key cannot be read.
 */
export function buildRoute(workspace: Workspace, name: string): Model {
  const route = workspace.file.models[name];
  if (!route) throw new AirlockError('config', `model route \`${name}\` is not declared`, { hint: 'declare it under `models:` in airlock.yaml' });
  switch (route.kind) {
    case 'scripted':
      return new ScriptedModel(name, loadPlaybook(path.resolve(workspace.dir, route.playbook)));
    case 'openai-chat':
      return new OpenAIChatModel(providerOptions(workspace.dir, name, route));
    case 'openai-responses':
      return new OpenAIResponsesModel(providerOptions(workspace.dir, name, route));
    case 'anthropic-messages':
      return new AnthropicMessagesModel({ ...providerOptions(workspace.dir, name, route), maxTokens: route.maxTokens });
  }
}

/** What every provider adapter takes from its route, the key read now. */
function providerOptions(dir: string, routeName: string, route: Extract<ModelRoute, { kind: 'openai-chat' | 'openai-responses' | 'anthropic-messages' }>): ProviderOptions {
  return {
    routeName,
    model: route.model,
    baseUrl: route.baseUrl,
    apiKey: readSecret(dir, `model route \`${routeName}\``, route.apiKey),
    timeoutMs: route.timeoutMs,
    maxRetries: route.maxRetries,
    temperature: route.temperature,
    system: route.system,
    price: route.price,
    stream: route.stream,
  };
}

