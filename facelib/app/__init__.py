"""The application: the `facelib` command line, its handlers and the papermill runner."""
