// Model routing: picks the model for a workflow's step from the workspace's declared routes.
import path from 'node:path';
import { AirlockError } from '../errors.js';
import type { WorkflowConfig, Workspace } from '../config/schema.js';
import type { Model } from '../orchestration/model.js';
import { ScriptedModel, loadPlaybook } from './providers/scripted.js';

/**
 * The model a workflow runs on. Risk- and cost-based routing arrives with real providers. Throws
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
  }
}
