import { invalidArgument } from "./errors.js";

/**
 * Permission queries such as `documents.read AND (documents.write OR admin)`.
 * AND binds tighter than OR; parentheses group. Operators are upper case, so a permission
 * may still be called `and`.
 */
export type PermissionQuery = { kind: "permission"; name: string } | { kind: "and" | "or"; operands: PermissionQuery[] };

export const MAX_QUERY_LENGTH = 1024;
const MAX_DEPTH = 32;
const TOKEN = /\s*(\(|\)|[A-Za-z0-9_.:*-]+|\S)/y;

export function parsePermissionQuery(query: string, field: string): PermissionQuery {
  if (query.length > MAX_QUERY_LENGTH) throw invalidArgument(field, `must be at most ${MAX_QUERY_LENGTH} characters`);
  const tokens: { text: string; at: number }[] = [];
  TOKEN.lastIndex = 0;
  for (let match = TOKEN.exec(query); match; match = TOKEN.exec(query)) tokens.push({ text: match[1]!, at: match.index });
  if (tokens.length === 0) throw invalidArgument(field, "is empty");
  let position = 0;
  const fail = (problem: string): never => {
    const at = tokens[position]?.at ?? query.length;
    throw invalidArgument(field, `${problem} at character ${at + 1}`);
  };
  const peek = () => tokens[position]?.text;

  const parseOr = (depth: number): PermissionQuery => {
    const operands = [parseAnd(depth)];
    while (peek() === "OR") {
      position++;
      operands.push(parseAnd(depth));
    }
    return operands.length === 1 ? operands[0]! : { kind: "or", operands };
  };
  const parseAnd = (depth: number): PermissionQuery => {
    const operands = [parseOperand(depth)];
    while (peek() === "AND") {
      position++;
      operands.push(parseOperand(depth));
    }
    return operands.length === 1 ? operands[0]! : { kind: "and", operands };
  };
  const parseOperand = (depth: number): PermissionQuery => {
    const token = peek();
    if (token === "(") {
      if (depth >= MAX_DEPTH) fail(`nests deeper than ${MAX_DEPTH} levels`);
      position++;
      const inner = parseOr(depth + 1);
      if (peek() !== ")") fail("expects a closing parenthesis");
      position++;
      return inner;
    }
    if (token === undefined) return fail("ends where a permission is expected");
    if (token === "AND" || token === "OR" || token === ")" || !/^[A-Za-z0-9_.:*-]+$/.test(token)) {
      return fail("expects a permission");
    }
    position++;
    return { kind: "permission", name: token };
  };

  const parsed = parseOr(0);
  if (position < tokens.length) fail("has an unexpected token");
  return parsed;
}

export function evaluatePermissionQuery(query: PermissionQuery, holds: (permission: string) => boolean): boolean {
  switch (query.kind) {
    case "permission":
      return holds(query.name);
    case "and":
      return query.operands.every((operand) => evaluatePermissionQuery(operand, holds));
    case "or":
      return query.operands.some((operand) => evaluatePermissionQuery(operand, holds));
  }
}
