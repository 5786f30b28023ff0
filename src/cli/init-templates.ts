// The files `airlock init` writes: a commented, valid workspace for a gateway (your agent, Airlock's governance) or an agent (Airlock's own loop). Pure.

/** The two kinds of workspace `airlock init` makes. */
export const WORKSPACE_KINDS = ['gateway', 'agent'] as const;
export type WorkspaceKind = (typeof WORKSPACE_KINDS)[number];

/** What the templates are filled with. */
export interface InitParams {
  readonly kind: WorkspaceKind;
  /** The workspace's name (a lowercase name). */
  readonly name: string;
  /** The id of the person who approves (a lowercase name). */
  readonly user: string;
  /** Where the shipped JSON Schemas are, relative to the workspace folder (`/`-separated), for editors. */
  readonly schemaDir: string;
}

/** The workflow `airlock init` writes, and the agent principal it runs as. */
export const INIT_WORKFLOW = 'main';
export const INIT_AGENT = 'assistant';

/** Workspace-relative path (`/`-separated) → file text, in the order they are written. */
export function initFiles(p: InitParams): ReadonlyMap<string, string> {
  const files = new Map<string, string>([
    ['airlock.yaml', workspaceYaml(p)],
    ['policies/starter.cedar', starterPolicies(p)],
    ['policies/approvers.cedar', APPROVERS_CEDAR],
    [`workflows/${INIT_WORKFLOW}.yaml`, workflowYaml(p)],
  ]);
  if (p.kind === 'agent') files.set(`playbooks/${INIT_WORKFLOW}.yaml`, PLAYBOOK_YAML);
  // The store, its keys and the upstream snapshots live in .airlock/: never commit them.
  files.set('.airlock/.gitignore', '# Airlock\'s local state (store, audit keys, snapshots): not for version control.\n*\n');
  return files;
}

function workspaceYaml(p: InitParams): string {
  const intro =
    p.kind === 'gateway'
      ? `# A gateway workspace, made by \`airlock init --kind gateway\`. Your agent (Claude Desktop, an IDE,
# your own code) connects to Airlock instead of to the MCP servers below, with \`airlock serve\` (HTTP)
# or \`airlock mcp\` (stdio). Airlock shows it only the tools its workflow and the policies allow, and
# decides every call: contract, JSON Schema, Cedar policy, tier, approvals, write-ahead audit.`
      : `# An agent workspace, made by \`airlock init --kind agent\`. Airlock's own agent loop runs the
# workflow (\`airlock run ${INIT_WORKFLOW}\`): the model proposes each step, Airlock decides every tool call
# (contract, JSON Schema, Cedar policy, tier, approvals, write-ahead audit) and checks the result.`;
  const models =
    p.kind === 'gateway'
      ? `
# No \`models:\` here: the agent is yours, so Airlock's own loop (\`airlock run\`) never runs. A workflow
# only needs a \`model\` when it does.
`
      : `
# Model routes for Airlock's own loop. \`scripted\` follows a playbook step by step: deterministic, no
# network, no key (for trying the boundary, tests and demos).
models:
  scripted:
    kind: scripted
    playbook: playbooks/${INIT_WORKFLOW}.yaml
`;
  return `# yaml-language-server: $schema=${p.schemaDir}/airlock.schema.json
${intro}
# Check it with \`airlock validate\`: every error names its file, line and column.
version: 1
name: ${p.name}

identity:
  principals:
    # The agent. Policies see its roles; it can never approve its own actions.
    - id: ${INIT_AGENT}
      kind: agent
      roles: [${INIT_AGENT}]
      description: The agent Airlock governs.
    # The people who decide what waits for approval (policies/approvers.cedar). Step-up approval
    # needs two of them: add another person with the \`approver\` role before you use it.
    - id: ${p.user}
      kind: user
      roles: [approver]
  # Bearer keys: \`airlock keys create --principal agent:${INIT_AGENT} --id laptop\` prints a key once
  # and the entry to paste here. Only its SHA-256 is stored.
  apiKeys: []
${
  p.kind === 'gateway'
    ? `
server:
  # \`airlock mcp\` (stdio) has no token: a local client acts as this principal.
  stdioPrincipal: agent:${INIT_AGENT}
`
    : ''
}
# The systems the agent reaches: MCP servers Airlock starts (\`mcp-stdio\`) or calls (\`mcp-http\`), and
# HTTP APIs (\`http\`). \`\${node}\` is the running Node.js, \`\${workspace}\` this folder. For example:
#   memory:
#     kind: mcp-stdio
#     command: npx
#     args: ["-y", "@modelcontextprotocol/server-memory"]
#     env: { MEMORY_FILE_PATH: "\${workspace}/.airlock/memory.jsonl" }
# then \`airlock tools import memory --out memory.draft.yaml\` drafts a contract for each of its tools.
connectors: {}

# One contract per tool the agent may use: its description (what the agent reads), effect (read,
# write, destructive, egress, financial), risk, input schema (checked strictly: a misspelt keyword is
# an error), and for every side effect a \`compensation\` or \`irreversible: true\`. A tool without a
# contract is unreachable. Move the drafts you reviewed here.
tools: []

# Cedar policies, deny by default: policies/starter.cedar explains them.
policies: ["policies/*.cedar"]

# Workflows: the agent, its tools, its autonomy tier and who owns each boundary.
workflows: ["workflows/*.yaml"]
${models}`;
}

function workflowYaml(p: InitParams): string {
  const gateway = p.kind === 'gateway';
  return `# yaml-language-server: $schema=../${p.schemaDir}/workflow.schema.json
# The workflow the agent works in. It sees and may call only the tools listed here, and only as far
# as the policies and the tier allow.
name: ${INIT_WORKFLOW}
description: ${gateway ? 'An external agent, connected through `airlock serve` or `airlock mcp`.' : 'Airlock\'s own agent loop, following the scripted playbook.'}
agent: ${INIT_AGENT}

# The autonomy tier; policy can only tighten it.
#   assist        side effects are only suggested and recorded, never executed (reads run)
#   prepare       every side effect waits for a person's approval
#   execute-low   low-risk side effects run; medium and high risk wait for approval
#   execute-high  high-risk side effects need step-up approval, a second path and verification
tier: assist

# Above \`assist\` every boundary needs an owner (a person or a team address). Replace \`owners: {}\` with:
#   owners:
#     product: you@example.com        # what the agent is for, and whether it is worth it
#     architecture: you@example.com   # how it fits the systems it touches
#     platform: you@example.com       # runs Airlock and its connectors
#     security: you@example.com       # credentials, egress, the policies
#     domain: you@example.com         # the business the tools change; contradicted results go here
#     compliance: you@example.com     # what must be kept and shown
owners: {}

# Contract names from airlock.yaml. Empty: nothing is reachable yet.
tools: []
${
  gateway
    ? `
# One MCP session is one run: a working session lasts hours, not minutes.
budgets:
  steps: 500
  wallTimeMs: 28800000
`
    : `
# The model route (under \`models:\` in airlock.yaml) that \`airlock run ${INIT_WORKFLOW}\` drives.
model: scripted
`
}`;
}

function starterPolicies(p: InitParams): string {
  return `// Deny by default. Airlock allows a call only when a permit matches it and no forbid does: without
// permits, the agent can do nothing. The workflow's tier can only tighten what policy allows, and a
// tool's effect and risk come from its contract in airlock.yaml, never from the agent.
//
// A policy sees the \`principal\` (\`in Airlock::Role::"..."\` for its roles), the \`resource\` (the tool:
// \`effect\`, \`risk\`, \`connector\`, \`classification\`, \`irreversible\`) and the \`context\` (\`workflow\`,
// \`tier\`, \`args\`: the argument fields a contract exposes, \`labels\`, \`onBehalfOf\`).
// \`airlock policy explain --as agent:${INIT_AGENT} --tool NAME\` shows which policies decide a call.

// An example permit: the agent may use every read tool of its workflow.
@id("${INIT_AGENT}-reads")
@reason("the ${INIT_AGENT} may use read tools")
permit (
  principal in Airlock::Role::"${INIT_AGENT}",
  action == Airlock::Action::"call",
  resource
)
when { context.workflow == "${INIT_WORKFLOW}" && resource.effect == "read" };

// Side effects need permits too. Destructive, egress and financial tools need one that names the
// tool in its scope. ${p.kind === 'gateway' ? 'For example, once a contract `memory.create_entities` exists' : 'For example, once a contract `app.update_record` exists'},
// with one person approving each call:
//
// @id("reviewed-writes")
// @approval("single")
// @reason("each change waits for one person's approval")
// permit (
//   principal in Airlock::Role::"${INIT_AGENT}",
//   action == Airlock::Action::"call",
//   resource == Airlock::Tool::"${p.kind === 'gateway' ? 'memory.create_entities' : 'app.update_record'}"
// );
`;
}

const APPROVERS_CEDAR = `// Who may decide (approve or reject) what waits for a person: people with the \`approver\` role.
// Whoever requested an action, and the person an agent acts for, can never approve it; no policy
// can change that.

@id("approvers-decide")
@reason("approvers decide the agent's pending actions")
permit (
  principal in Airlock::Role::"approver",
  action == Airlock::Action::"approve",
  resource
);
`;

const PLAYBOOK_YAML = `# The scripted model's playbook: the steps it proposes, in order (deterministic, no network).
#   - call: connector.tool       propose a tool call; Airlock decides it like any other
#     args: { id: $input.id }    $input.x is the run's input; $results.<connector>.<tool>.x a tool's latest result
#     reasoning: why             recorded with the intent, shown to approvers
#   - final: text                end the run, claiming it is done
description: The starter playbook; it ends at once, because the workflow has no tools yet.
steps:
  - final: Nothing to do yet. Add tools to the workflow and calls to this playbook.
`;
