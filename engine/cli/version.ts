/** The package version, shown by --version and written into JSON reports. */
export const VERSION = "0.1.0";
