/**
 * @module
 * Text a client chose (resource ids, tags, idempotency keys, error messages) as the dashboard prints it. Bidi
 * controls in such text reorder what is shown around it: `acct-\u202e1337-evil` would read `acct-live-7331`.
 * So every user value is isolated in `<bdi>` (its direction cannot leak into the page) and every invisible
 * control or format character in it is shown as a mark like `⟨U+202E⟩` (README, "Hostile input").
 */

// Cc: C0/C1 controls; Cf: format characters, which hold the bidi embeddings, overrides, isolates and marks
// (U+202A-U+202E, U+2066-U+2069, U+200E/F, U+061C) and the zero-width ones; Cs: lone surrogates.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}]/gu

/** `text` with each control, format or lone surrogate character replaced by a visible `⟨U+XXXX⟩`. */
export function visibleText(text: string): string {
  return text.replace(INVISIBLE, (ch) => `\u27e8U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}\u27e9`)
}

/** A user-chosen value in a page: direction-isolated, controls made visible. Pass `class` for styling. */
export function UserText(props: { readonly value: string; readonly class?: string }) {
  return <bdi class={props.class}>{visibleText(props.value)}</bdi>
}
