/// flowtap's version, as `flowtap --version` prints it and the Debian package is named. The
/// one place it is set is the repository's VERSION file; VersionTests holds this to it.
public enum FlowtapVersion {
    public static let string = "0.3.0"
}
