// Preact + htm: tagged templates instead of JSX, so no build step. Every value interpolated
// into a template is rendered as text (Preact escapes it); the console never sets raw HTML.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
