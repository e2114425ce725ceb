// The variables and properties a turn wrote and read, from the code it ran: a script's
// source parsed with acorn, its identifiers resolved to their declarations (a small scope
// analysis), and only the expressions inside the blocks V8's coverage saw run kept.
// Static: the program is not run again for this, nothing is evaluated.
import { parse, type Node } from 'acorn';
import type { CoveredFunction } from '../debug/coverage.js';

/** How far a binding outlives one turn: what both racing turns can see. */
export type Reach =
  | 'module' // declared at a script's top level, a global, or a property of one
  | 'this' // a property of `this` (an instance both turns reach)
  | 'closure'; // declared in a function that ran before both turns (each call has its own)

export interface Access {
  /** Identifies the binding or property path across the scripts of one run. */
  key: string;
  /** As the program spells it: `config`, `this.ready`, `cache.entries`. */
  name: string;
  reach: Reach;
  write: boolean;
  /** Character offset in the script. */
  pos: number;
}

/** Methods that change the object they are called on (arrays, maps, sets). */
const MUTATORS = new Set([
  'push',
  'pop',
  'shift',
  'unshift',
  'splice',
  'sort',
  'reverse',
  'fill',
  'copyWithin',
  'set',
  'add',
  'delete',
  'clear',
]);

type AnyNode = Node & Record<string, unknown>;

const isNode = (x: unknown): x is AnyNode =>
  typeof x === 'object' && x !== null && typeof (x as { type?: unknown }).type === 'string';
const isFunction = (n: AnyNode) =>
  n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression';

class Scope {
  readonly names = new Map<string, string>();
  constructor(
    readonly parent: Scope | null,
    /** The function (or Program) this scope belongs to. */
    readonly fn: AnyNode,
    readonly isFunction: boolean,
    /** Where the class this scope is the body of starts: `this` in it is one of its instances. */
    readonly classStart: number | null = null,
  ) {}

  lookup(name: string): { key: string; scope: Scope } | null {
    for (let s: Scope | null = this; s; s = s.parent) {
      const key = s.names.get(name);
      if (key !== undefined) return { key, scope: s };
    }
    return null;
  }

  get functionScope(): Scope {
    let s: Scope = this;
    while (!s.isFunction && s.parent) s = s.parent;
    return s;
  }
}

/** Parses `source`; null when acorn cannot (a syntax it does not know, or not JavaScript). */
export function parseScript(source: string): Node | null {
  for (const sourceType of ['module', 'script'] as const) {
    try {
      return parse(source, {
        ecmaVersion: 'latest',
        sourceType,
        allowHashBang: true,
        allowReturnOutsideFunction: sourceType === 'script',
        allowAwaitOutsideFunction: true,
      });
    } catch {
      // try the other kind
    }
  }
  return null;
}

/**
 * Coverage of one turn in one script, flattened: disjoint segments with the count of the
 * innermost range over each (V8's ranges nest), and the functions that were called.
 */
class Ran {
  private readonly segments: [number, number, number][] = [];
  /** Function ranges by where they end: of the functions that ran (called or resumed), and of those called. */
  private readonly ran = new Map<number, number[]>();
  private readonly called = new Map<number, number[]>();

  constructor(functions: CoveredFunction[]) {
    const ranges = functions.flat().sort((x, y) => x[0] - y[0] || y[1] - x[1]);
    for (const f of functions) {
      const [start, end, count] = f[0];
      this.ran.set(end, [...(this.ran.get(end) ?? []), start]);
      if (count > 0) this.called.set(end, [...(this.called.get(end) ?? []), start]);
    }
    const stack: [number, number, number][] = [];
    let pos = 0;
    const emit = (upTo: number) => {
      const top = stack[stack.length - 1];
      if (top && upTo > pos) this.segments.push([pos, upTo, top[2]]);
      pos = Math.max(pos, upTo);
    };
    for (const r of ranges) {
      while (stack.length && stack[stack.length - 1][1] <= r[0]) {
        emit(stack[stack.length - 1][1]);
        stack.pop();
      }
      emit(r[0]);
      pos = r[0];
      stack.push(r);
    }
    while (stack.length) {
      emit(stack[stack.length - 1][1]);
      stack.pop();
    }
  }

  /** Did the code at `pos` run? */
  at(pos: number): boolean {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [s, e, count] = this.segments[mid];
      if (pos < s) hi = mid - 1;
      else if (pos >= e) lo = mid + 1;
      else return count > 0;
    }
    return false;
  }

  /** Did this function (or the script's top level) run, called or resumed? V8's range ends where the node does. */
  ranFn(fn: AnyNode, from: number): boolean {
    return Ran.has(this.ran, fn, from);
  }

  /** Was it called (its bindings are new to this turn)? */
  calledFn(fn: AnyNode, from: number): boolean {
    return Ran.has(this.called, fn, from);
  }

  private static has(ranges: Map<number, number[]>, fn: AnyNode, from: number): boolean {
    const starts = ranges.get(fn.end);
    if (!starts) return false;
    const bodyStart = fn.type === 'Program' ? 0 : (fn.body as AnyNode).start;
    return starts.some((s) => s >= from && s <= bodyStart);
  }
}

/**
 * Is `ast` the code V8 ran? Every function that ran must end where a function, a class (its
 * field initializers and default constructor) or the script ends. A file transformed at load
 * (TypeScript, a test runner's rewriting) has other offsets than its text on disk.
 */
export function fitsSource(ast: Node, functions: CoveredFunction[]): boolean {
  const ends = new Set<number>([ast.end]);
  const walk = (n: AnyNode) => {
    if (isFunction(n) || n.type === 'ClassDeclaration' || n.type === 'ClassExpression') ends.add(n.end);
    for (const c of children(n)) walk(c);
  };
  walk(ast as AnyNode);
  return functions.every((f) => ends.has(f[0][1]));
}

/** A member chain rooted at an identifier or `this`: `a.b[c].d`. */
interface Chain {
  root: AnyNode;
  /** `.b`, `[…]`, `.d`: each prefix is a place read on the way. */
  parts: string[];
  /** The computed keys' expressions, read too. */
  computed: AnyNode[];
}

function chainOf(n: AnyNode): Chain | null {
  if (n.type === 'Identifier' || n.type === 'ThisExpression') return { root: n, parts: [], computed: [] };
  if (n.type !== 'MemberExpression') return null;
  const inner = chainOf(n.object as AnyNode);
  if (!inner) return null;
  const prop = n.property as AnyNode;
  if (!n.computed) inner.parts.push(`.${prop.name as string}`);
  else if (prop.type === 'Literal' && (typeof prop.value === 'string' || typeof prop.value === 'number'))
    inner.parts.push(
      typeof prop.value === 'string' && /^[A-Za-z_$][\w$]*$/.test(prop.value)
        ? `.${prop.value}`
        : `[${JSON.stringify(prop.value)}]`,
    );
  else {
    inner.parts.push('[…]');
    inner.computed.push(prop);
  }
  return inner;
}

/** Every variable and property the code that ran (per `functions`) wrote or read. */
export function accessesIn(ast: Node, scriptId: string, functions: CoveredFunction[]): Access[] {
  const ran = new Ran(functions);
  const program = ast as AnyNode;
  const scopes = new WeakMap<AnyNode, Scope>();
  /** Variables declared as another name's alias (by declaration key): the chain and where it is read. */
  const aliases = new Map<string, { chain: Chain; scope: Scope }>();
  const out: Access[] = [];
  /** Where V8's range of a function may start, when before the function node (a method's name). */
  const fnFrom = new WeakMap<AnyNode, number>();

  // ---- declarations: every scope and the names declared in it ----
  const declare = (scope: Scope, pattern: AnyNode | null | undefined) => {
    for (const id of patternIds(pattern)) scope.names.set(id.name as string, `${scriptId}#${id.start}`);
  };
  const collect = (node: AnyNode, scope: Scope) => {
    let inner = scope;
    if (node.type === 'Program') {
      inner = new Scope(null, node, true);
      scopes.set(node, inner);
    } else if (isFunction(node)) {
      if (node.type === 'FunctionDeclaration') declare(scope, node.id as AnyNode);
      inner = new Scope(scope, node, true);
      scopes.set(node, inner);
      if (node.type === 'FunctionExpression') declare(inner, node.id as AnyNode);
      for (const p of node.params as AnyNode[]) {
        declare(inner, p);
        collect(p, inner); // functions in default values
      }
      // The body block shares the function's scope.
      const body = node.body as AnyNode;
      if (body.type === 'BlockStatement') {
        scopes.set(body, inner);
        for (const s of body.body as AnyNode[]) collect(s, inner);
        return;
      }
    } else if (
      node.type === 'BlockStatement' ||
      node.type === 'ForStatement' ||
      node.type === 'ForInStatement' ||
      node.type === 'ForOfStatement' ||
      node.type === 'SwitchStatement' ||
      node.type === 'StaticBlock' ||
      node.type === 'ClassExpression' ||
      node.type === 'ClassDeclaration'
    ) {
      if (node.type === 'ClassDeclaration') declare(scope, node.id as AnyNode);
      const isClass = node.type === 'ClassDeclaration' || node.type === 'ClassExpression';
      inner = new Scope(scope, scope.fn, false, isClass ? node.start : null);
      scopes.set(node, inner);
      if (node.type === 'ClassExpression') declare(inner, node.id as AnyNode);
    } else if (node.type === 'CatchClause') {
      inner = new Scope(scope, scope.fn, false);
      scopes.set(node, inner);
      declare(inner, node.param as AnyNode);
    } else if (node.type === 'VariableDeclaration') {
      const target = node.kind === 'var' ? scope.functionScope : scope;
      for (const d of node.declarations as AnyNode[]) {
        declare(target, d.id as AnyNode);
        // `var self = this`, `const c = app.cache`: a property reached through the alias is the original's.
        const init = d.init as AnyNode | null;
        const chain = init && (d.id as AnyNode).type === 'Identifier' ? chainOf(init) : null;
        if (chain && chain.computed.length === 0)
          aliases.set(`${scriptId}#${(d.id as AnyNode).start}`, { chain, scope });
      }
    } else if (node.type === 'ImportDeclaration') {
      for (const s of node.specifiers as AnyNode[]) declare(scope, s.local as AnyNode);
      return;
    }
    for (const child of children(node)) collect(child, inner);
  };
  collect(program, new Scope(null, program, true));

  // ---- references, kept where the code ran ----
  const reachOf = (root: AnyNode, scope: Scope): { key: string; reach: Reach } | null => {
    if (root.type === 'ThisExpression') {
      // One instance per class (or per script, for functions used as methods): what a turn's `this` reaches.
      let cls: Scope | null = scope;
      while (cls && cls.classStart === null) cls = cls.parent;
      return { key: `${scriptId}#this@${cls?.classStart ?? ''}`, reach: 'this' };
    }
    const name = root.name as string;
    const found = scope.lookup(name);
    if (!found) return { key: `global:${name}`, reach: 'module' };
    const fnScope = found.scope.functionScope;
    if (fnScope.fn.type === 'Program') return { key: found.key, reach: 'module' };
    // A binding made by a call in this very turn is new to it: the other turn cannot have seen it.
    if (ran.calledFn(fnScope.fn, fnFrom.get(fnScope.fn) ?? fnScope.fn.start)) return null;
    return { key: found.key, reach: 'closure' };
  };
  const note = (chain: Chain, scope: Scope, upTo: number, write: boolean, pos: number) => {
    const rootName = chain.root.type === 'ThisExpression' ? 'this' : (chain.root.name as string);
    const path = chain.parts.slice(0, upTo).join('');
    // A property through an alias is keyed by what the alias stands for (the alias itself, a
    // variable of its own, is not: `self = …` rebinds it, it does not write `this`).
    let root = chain.root;
    let rootScope = scope;
    let keyPath = path;
    for (let hops = 0; upTo > 0 && root.type === 'Identifier' && hops < 8; hops++) {
      const found = rootScope.lookup(root.name as string);
      const alias = found && aliases.get(found.key);
      if (!alias) break;
      root = alias.chain.root;
      rootScope = alias.scope;
      keyPath = alias.chain.parts.join('') + keyPath;
    }
    const r = reachOf(root, rootScope);
    if (!r) return;
    out.push({ key: `${r.key}${keyPath}`, name: `${rootName}${path}`, reach: r.reach, write, pos });
  };
  /** A read of the chain and of every prefix of it (the prefixes only, with `skipFull`). */
  const reads = (chain: Chain, scope: Scope, pos: number, skipFull = false) => {
    const last = chain.parts.length - (skipFull ? 1 : 0);
    for (let i = 0; i <= last; i++) note(chain, scope, i, false, pos);
  };

  const visit = (node: AnyNode, scope: Scope, live: boolean): void => {
    const own = scopes.get(node);
    if (isFunction(node) || node.type === 'Program') live = ran.ranFn(node, fnFrom.get(node) ?? node.start);
    const here = own ?? scope;
    const runs = live && ran.at(node.start);
    switch (node.type) {
      case 'Identifier':
        if (runs) reads({ root: node, parts: [], computed: [] }, here, node.start);
        return;
      case 'MemberExpression': {
        const chain = chainOf(node);
        if (chain) {
          if (runs) reads(chain, here, node.start);
          for (const c of chain.computed) visit(c, here, live);
        } else {
          // `f().x`: the object is an expression; a property name is no variable.
          visit(node.object as AnyNode, here, live);
          if (node.computed) visit(node.property as AnyNode, here, live);
        }
        return;
      }
      case 'AssignmentExpression':
      case 'UpdateExpression': {
        const target = (node.type === 'UpdateExpression' ? node.argument : node.left) as AnyNode;
        const compound = node.type === 'UpdateExpression' || node.operator !== '=';
        if (runs) writes(target, here, compound, live);
        else visitPattern(target, here, live);
        if (node.type === 'AssignmentExpression') visit(node.right as AnyNode, here, live);
        return;
      }
      case 'UnaryExpression':
        if (node.operator === 'delete' && runs) {
          const chain = chainOf(node.argument as AnyNode);
          if (chain && chain.parts.length) {
            note(chain, here, chain.parts.length, true, node.start);
            reads(chain, here, node.start, true);
            for (const c of chain.computed) visit(c, here, live);
            return;
          }
        }
        break;
      case 'CallExpression': {
        const callee = node.callee as AnyNode;
        if (runs && callee.type === 'MemberExpression' && !callee.computed) {
          const method = (callee.property as AnyNode).name as string;
          const target = chainOf(callee.object as AnyNode);
          if (target && MUTATORS.has(method)) note(target, here, target.parts.length, true, node.start);
          const args = node.arguments as AnyNode[];
          const obj = callee.object as AnyNode;
          if (method === 'assign' && obj.type === 'Identifier' && obj.name === 'Object' && args[0]) {
            const t = chainOf(args[0]);
            if (t) note(t, here, t.parts.length, true, node.start);
          }
        }
        break;
      }
      case 'VariableDeclarator':
        visitPattern(node.id as AnyNode, here, live);
        if (node.init) visit(node.init as AnyNode, here, live);
        return;
      case 'ForInStatement':
      case 'ForOfStatement': {
        const left = node.left as AnyNode;
        if (left.type === 'VariableDeclaration') visit(left, here, live);
        else if (runs) writes(left, here, false, live);
        visit(node.right as AnyNode, here, live);
        visit(node.body as AnyNode, here, live);
        return;
      }
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        for (const p of node.params as AnyNode[]) visitPattern(p, here, live);
        visit(node.body as AnyNode, here, live);
        return;
      case 'ClassDeclaration':
      case 'ClassExpression':
        if (node.superClass) visit(node.superClass as AnyNode, here, live);
        visit(node.body as AnyNode, here, live);
        return;
      case 'Property':
      case 'MethodDefinition':
      case 'PropertyDefinition':
        if (node.computed) visit(node.key as AnyNode, here, live);
        // V8 starts a method's range at its name.
        if (isNode(node.value) && isFunction(node.value)) fnFrom.set(node.value, node.start);
        if (node.value) visit(node.value as AnyNode, here, live);
        return;
      case 'CatchClause':
        if (node.param) visitPattern(node.param as AnyNode, here, live);
        visit(node.body as AnyNode, here, live);
        return;
      case 'LabeledStatement':
        visit(node.body as AnyNode, here, live);
        return;
      case 'BreakStatement':
      case 'ContinueStatement':
      case 'MetaProperty':
      case 'ImportDeclaration':
      case 'ExportAllDeclaration':
        return;
      case 'ExportNamedDeclaration':
        if (node.declaration) visit(node.declaration as AnyNode, here, live);
        return;
    }
    for (const child of children(node)) visit(child, here, live);
  };

  /** Declared names are not references; default values and computed keys in a pattern are read. */
  const visitPattern = (p: AnyNode | null | undefined, scope: Scope, live: boolean): void => {
    if (!p) return;
    switch (p.type) {
      case 'Identifier':
        return;
      case 'ObjectPattern':
        for (const prop of p.properties as AnyNode[]) {
          if (prop.type === 'RestElement') visitPattern(prop.argument as AnyNode, scope, live);
          else {
            if (prop.computed) visit(prop.key as AnyNode, scope, live);
            visitPattern(prop.value as AnyNode, scope, live);
          }
        }
        return;
      case 'ArrayPattern':
        for (const e of p.elements as (AnyNode | null)[]) visitPattern(e, scope, live);
        return;
      case 'RestElement':
        return visitPattern(p.argument as AnyNode, scope, live);
      case 'AssignmentPattern':
        visitPattern(p.left as AnyNode, scope, live);
        return visit(p.right as AnyNode, scope, live);
      default:
        return visit(p, scope, live); // a member expression in an assignment pattern
    }
  };

  /** An assignment's target: written (and read first, for `+=` and `++`); its prefixes read. */
  const writes = (target: AnyNode, scope: Scope, compound: boolean, live: boolean): void => {
    const chain = chainOf(target);
    if (chain) {
      note(chain, scope, chain.parts.length, true, target.start);
      reads(chain, scope, target.start, !compound);
      for (const c of chain.computed) visit(c, scope, live);
      return;
    }
    switch (target.type) {
      case 'ObjectPattern':
        for (const prop of target.properties as AnyNode[]) {
          if (prop.type === 'RestElement') writes(prop.argument as AnyNode, scope, false, live);
          else {
            if (prop.computed) visit(prop.key as AnyNode, scope, live);
            writes(prop.value as AnyNode, scope, false, live);
          }
        }
        return;
      case 'ArrayPattern':
        for (const e of target.elements as (AnyNode | null)[]) if (e) writes(e, scope, false, live);
        return;
      case 'RestElement':
        return writes(target.argument as AnyNode, scope, false, live);
      case 'AssignmentPattern':
        writes(target.left as AnyNode, scope, false, live);
        return visit(target.right as AnyNode, scope, live);
      default:
        return visit(target, scope, live);
    }
  };

  visit(program, scopes.get(program)!, true);
  return out;
}

function* children(node: AnyNode): Generator<AnyNode> {
  for (const key of Object.keys(node)) {
    if (key === 'type' || key === 'start' || key === 'end' || key === 'loc' || key === 'range') continue;
    const v = node[key];
    if (Array.isArray(v)) {
      for (const x of v) if (isNode(x)) yield x;
    } else if (isNode(v)) yield v;
  }
}

function patternIds(p: AnyNode | null | undefined): AnyNode[] {
  if (!p) return [];
  switch (p.type) {
    case 'Identifier':
      return [p];
    case 'ObjectPattern':
      return (p.properties as AnyNode[]).flatMap((x) =>
        patternIds((x.type === 'RestElement' ? x.argument : x.value) as AnyNode),
      );
    case 'ArrayPattern':
      return (p.elements as (AnyNode | null)[]).flatMap((e) => patternIds(e));
    case 'RestElement':
      return patternIds(p.argument as AnyNode);
    case 'AssignmentPattern':
      return patternIds(p.left as AnyNode);
    default:
      return [];
  }
}
