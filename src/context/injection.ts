// Injection signals (pure): instruction-like text in untrusted content — imperatives addressed to an
// assistant, hidden text, chat role markers, the names of tools, exfiltration patterns. A signal for
// people (approvers, incident owners, traces), never the defence: what stops a steered action is
// per-value provenance and policy, which hold with this detector switched off.
import type { Json } from '../types.js';
import { forEachLeaf } from './json-leaves.js';

/** The kinds of signal, each a family of patterns. */
export const INJECTION_SIGNALS = ['addressed-to-assistant', 'hidden-text', 'role-marker', 'tool-name', 'exfiltration'] as const;
export type InjectionSignalKind = (typeof INJECTION_SIGNALS)[number];

/** One signal: its kind, where in the content (a JSON path), and a short excerpt around it. */
export interface InjectionSignal {
  readonly kind: InjectionSignalKind;
  readonly path: string;
  readonly excerpt: string;
}

/** Bounds: characters of one string scanned, strings read per item, signals kept per item, excerpt length. */
export const INJECTION_LIMITS = { maxScanChars: 50_000, maxStrings: 2000, maxSignals: 20, excerptChars: 160 } as const;

const PATTERNS: readonly { readonly kind: InjectionSignalKind; readonly re: RegExp }[] = [
  // Speaking to the model: "AI assistants must…", "note to the AI…", "ignore previous instructions".
  { kind: 'addressed-to-assistant', re: /\b(?:ai|a\.i\.|assistant|agent|chatbot|llm|language model|copilot)s?\b[^.\n]{0,80}?\b(?:must|should|shall|need to|are (?:required|instructed)|please|always|never|immediately|right away)\b/i },
  { kind: 'addressed-to-assistant', re: /\b(?:note|message|instructions?) (?:to|for) (?:the |any )?(?:ai|assistant|agent|model|bot)\b/i },
  { kind: 'addressed-to-assistant', re: /\b(?:ignore|disregard|forget|override) (?:all |any |the )?(?:previous|prior|above|earlier|your|other) (?:instructions|rules|prompts?|guidelines|directions)\b/i },
  { kind: 'addressed-to-assistant', re: /\b(?:agent[-_ ]instruction|system prompt|new instructions|you are now|act as (?:an?|the) )/i },
  // Hidden text: zero-width and direction-override characters, Unicode tag characters, HTML comments, invisible styling.
  { kind: 'hidden-text', re: /[\u200b-\u200f\u2060-\u2064\ufeff\u202a-\u202e\u2066-\u2069]|\udb40[\udc00-\udc7f]/ },
  { kind: 'hidden-text', re: /<!--|display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0|color\s*:\s*(?:#fff(?:fff)?|white)\b/i },
  // Chat role markers and prompt-format tokens.
  { kind: 'role-marker', re: /(?:^|\n)\s*(?:system|assistant|developer|user)\s*:(?:\s|$)|<\|(?:im_start|im_end|system|assistant|user|endoftext)\|>|\[\/?INST\]|<<\/?SYS>>|###\s*(?:instruction|system)/i },
  // Exfiltration: markdown images or links to URLs carrying data, and sending data to an address.
  { kind: 'exfiltration', re: /!\[[^\]]{0,200}\]\(\s*https?:\/\/[^)\s]{1,500}\?[^)\s]{1,500}\)/i },
  { kind: 'exfiltration', re: /\b(?:send|forward|e-?mail|post|upload|export|copy)\b[^.\n]{0,80}\b(?:customer (?:record|data|list)|all (?:records|data|customers)|credentials?|passwords?|api keys?|tokens?)\b[^.\n]{0,80}\b(?:to|at)\b/i },
  { kind: 'exfiltration', re: /\b(?:curl|wget)\s+-|https?:\/\/[^\s]{1,200}(?:webhook|requestbin|ngrok|pipedream)[^\s]{0,200}/i },
];

/**
 * The signals in `content` (a tool result, a retrieved chunk): every string in it, bounded. `toolNames`:
 * the workspace's tool names (and their upstream names), whose mention in content is itself a signal.
 */
export function injectionSignals(content: Json, toolNames: readonly string[] = []): InjectionSignal[] {
  const out: InjectionSignal[] = [];
  const names = toolNames.filter((n) => n.length >= 4).map((n) => n.toLowerCase());
  let strings = 0;
  let path: readonly (string | number)[] = [];
  const here = () => path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '') || '$';
  const scan = (text: string) => {
    const t = text.length > INJECTION_LIMITS.maxScanChars ? text.slice(0, INJECTION_LIMITS.maxScanChars) : text;
    const kinds = new Set<InjectionSignalKind>();
    for (const p of PATTERNS) {
      if (kinds.has(p.kind)) continue;
      const m = p.re.exec(t);
      if (m) {
        kinds.add(p.kind);
        out.push({ kind: p.kind, path: here(), excerpt: excerpt(t, m.index, m[0].length) });
      }
    }
    if (names.length > 0) {
      const lower = t.toLowerCase();
      for (const n of names) {
        const at = lower.indexOf(n);
        if (at >= 0) {
          out.push({ kind: 'tool-name', path: here(), excerpt: excerpt(t, at, n.length) });
          break;
        }
      }
    }
  };
  forEachLeaf(content, (leaf, at) => {
    if (out.length >= INJECTION_LIMITS.maxSignals || strings >= INJECTION_LIMITS.maxStrings) return false;
    if (typeof leaf !== 'string') return true;
    strings++;
    path = at;
    scan(leaf);
    return true;
  });
  return out.slice(0, INJECTION_LIMITS.maxSignals);
}

/** Text around a match, on one line, with invisible characters shown as `\u{...}` so people see them. */
function excerpt(text: string, at: number, length: number): string {
  const half = Math.max(0, Math.floor((INJECTION_LIMITS.excerptChars - length) / 2));
  const from = Math.max(0, at - half);
  const slice = text.slice(from, Math.min(text.length, at + length + half));
  const shown = slice.replace(/[\u0000-\u001f\u007f\u200b-\u200f\u2060-\u2064\ufeff\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`).replace(/\udb40[\udc00-\udc7f]/g, '\\u{tag}');
  return `${from > 0 ? '…' : ''}${shown}${at + length + half < text.length ? '…' : ''}`;
}
