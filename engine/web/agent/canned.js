// Canned messages' placeholders, filled when an agent inserts one: {customer_name}, {agent_name}
// and {queue}. Plain replacement of those exact words, nothing evaluated; any other brace stays as
// the supervisor wrote it. A value the console does not know leaves its placeholder in the text.

export const PLACEHOLDERS = ['customer_name', 'agent_name', 'queue'];

export function fillPlaceholders(text, values) {
  let out = String(text);
  for (const name of PLACEHOLDERS) {
    const value = values[name];
    if (typeof value === 'string' && value !== '') out = out.split(`{${name}}`).join(value);
  }
  return out;
}
