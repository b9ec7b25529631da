"""The report formats, named once for the command line, the config and the renderers."""

OUTPUT_FORMATS = ("table", "json", "junit", "github", "markdown")
