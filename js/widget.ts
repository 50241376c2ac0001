// anywidget entry point (bundled to static/widget.js). anywidget expects exactly one export,
// the default `{ render }`; a named `render` beside it is the deprecated form and logs a
// warning in every front end.

import { render } from "./render";

export default { render };
