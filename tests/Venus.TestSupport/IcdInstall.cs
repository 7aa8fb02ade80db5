using System.Text.Json;

namespace Venus.TestSupport;

/// <summary>Our guest ICD (libvenus_icd.so) as installed in the peers chroot.</summary>
public sealed record IcdInstall(string ManifestPath, string LibraryPath, string InstallOutput)
{
    /// <summary>eng/icd.sh install: a NativeAOT publish, 1–3 minutes, more on a loaded machine.</summary>
    public static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(15);

    /// <summary>
    /// <c>bash eng/icd.sh install</c>, or the manifest named by VENUS_ICDTEST_MANIFEST (a chroot path; no
    /// install then). Throws with the script's stderr when it fails.
    /// </summary>
    public static IcdInstall Install(string repoRoot, string peersRoot)
    {
        string manifest;
        string log;
        string source;
        if (Environment.GetEnvironmentVariable("VENUS_ICDTEST_MANIFEST") is { Length: > 0 } given)
        {
            manifest = given;
            source = "VENUS_ICDTEST_MANIFEST";
            log = $"VENUS_ICDTEST_MANIFEST={given}: eng/icd.sh install not run";
        }
        else
        {
            string script = Path.Combine(repoRoot, "eng", "icd.sh");
            if (!File.Exists(script))
                throw new InvalidOperationException($"{script} missing: our ICD cannot be built and installed");
            RunResult install = ProcessRun.Run("bash", [script, "install"], InstallTimeout, repoRoot);
            if (!install.Succeeded)
                throw new InvalidOperationException(
                    $"`bash eng/icd.sh install` failed, so our ICD cannot be tested: {install.Outcome}\n" +
                    $"--- stderr ---\n{RunResult.Tail(install.Stderr, 60)}\n--- stdout ---\n{RunResult.Tail(install.Stdout, 20)}");
            manifest = install.Stdout.Trim().Split('\n')[^1].Trim();
            source = "eng/icd.sh install printed it as its last line";
            log = $"eng/icd.sh install ({install.Wall.TotalSeconds:0} s): {manifest}";
        }

        string hostManifest = peersRoot + manifest;
        if (!manifest.StartsWith('/') || !File.Exists(hostManifest))
            throw new InvalidOperationException(
                $"'{manifest}' ({source}) is not a manifest in the chroot ({hostManifest} missing)");
        string libraryPath;
        try
        {
            using JsonDocument json = JsonDocument.Parse(File.ReadAllText(hostManifest));
            libraryPath = json.RootElement.GetProperty("ICD").GetProperty("library_path").GetString() ?? "";
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new InvalidOperationException($"{hostManifest} is not an ICD manifest with ICD.library_path: {e.Message}");
        }
        // The loader's rules: absolute as is; with a '/' relative to the manifest's folder; else a
        // bare name for dlopen's search.
        if (libraryPath.Contains('/') && !libraryPath.StartsWith('/'))
            libraryPath = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(manifest)!, libraryPath));
        if (libraryPath.StartsWith('/') && !File.Exists(peersRoot + libraryPath))
            throw new InvalidOperationException($"{manifest} names {libraryPath}, which is not in the chroot");
        return new IcdInstall(manifest, libraryPath, log);
    }
}
