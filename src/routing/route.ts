// Model routing: picks the model for a workflow's step from the workspace's declared routes.
import path from 'node:path';
import { AirlockError } from '../errors.js';
import type { WorkflowConfig, Workspace } from '../config/schema.js';
import type { Model } from '../orchestration/model.js';
import { ScriptedModel, loadPlaybook } from './providers/scripted.js';

/** The model a workflow runs on. Risk- and cost-based routing arrives with real providers. */
export function modelFor(workspace: Workspace, workflow: WorkflowConfig): Model {
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
