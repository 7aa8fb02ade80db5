using Xunit.Abstractions;

namespace Venus.Apps.Tests;

/// <summary>
/// Runs one <see cref="AppCase"/> natively and on one <see cref="GuestPath"/>, in the same test, and
/// compares the output lines (hashes), never just exit codes:
/// <list type="bullet">
/// <item>native must exit 0 with lines that can serve as a reference (<see cref="OutputLines.NativeProblem"/>);</item>
/// <item>on venus-host (our ICD and Mesa's guest) the run must exit 0 with exactly native's lines;</item>
/// <item>on virglrenderer 1.1.0 our ICD must give exactly native's lines, or fail cleanly where that host
/// cannot export host-visible memory: a non-zero exit (no hang, no crash signal; SIGABRT only from the
/// application's own abort on the error), our ICD's "could not share memory" message, and every
/// line it did print equal to native's line at the same place.</item>
/// </list>
/// Each test prints one <c>apps-result:</c> line before it asserts; eng/apps.sh builds its table from them.
/// </summary>
public static class AppComparison
{
    /// <summary>What our ICD says (always, prefixed venus:) when virglrenderer drops it at the blob export of mapped memory.</summary>
    public const string VirglMapRefusal = "venus: vkMapMemory: the host could not share memory";

    public static void Run(AppsFixture fx, AppCase app, GuestPath path, ITestOutputHelper output)
    {
        output.WriteLine(fx.EnsurePackages(app.App, app.Packages));
        if (path != GuestPath.MesaOnVenusHost)
            output.WriteLine(fx.Icd.InstallOutput);
        string command = app.Command(fx);

        (RunResult native, string nativeLog) = fx.NativeReference(command, app.Timeout);
        if (nativeLog.Length > 0)
            output.WriteLine(nativeLog.TrimEnd());
        IReadOnlyList<string> expected = app.Output.Extract(native.Stdout);
        string? problem = !native.Succeeded ? $"native run failed ({native.Outcome})" : app.Output.NativeProblem(expected);
        output.WriteLine($"native: {native.Outcome}, {native.Wall.TotalSeconds:0.0} s, {Count(expected.Count, app.Output.Unit)}");
        foreach (string line in expected)
            output.WriteLine("  " + line);
        output.WriteLine($"apps-native: {app.App} | {app.Name} | {(problem is null ? Summary(app, expected) : "BAD CONTROL: " + problem)}");
        Assert.True(problem is null, $"the native control on lavapipe is not usable: {problem}\n{native}");

        DriverRun run = fx.RunOn(path, command, app.Timeout);
        IReadOnlyList<string> got = app.Output.Extract(run.Run.Stdout);
        output.WriteLine($"{AppsFixture.Describe(path)}: {run.Run.Outcome}, {run.Run.Wall.TotalSeconds:0.0} s, {Count(got.Count, app.Output.Unit)}");
        foreach (string line in got)
            output.WriteLine("  " + line);

        Verdict verdict = Judge(app, path, expected, run.Run);
        output.WriteLine($"apps-result: {app.App} | {app.Name} | {AppsFixture.Describe(path)} | " +
                         $"{(verdict.Passed ? "pass" : "FAIL")} | {verdict.Cell} | {verdict.Detail}");
        Assert.True(verdict.Passed, $"{app} {AppsFixture.Describe(path)}: {verdict.Detail}\n" +
                            $"native:\n  {string.Join("\n  ", expected)}\n{run}");
    }

    /// <summary>The outcome of one comparison; <paramref name="Cell"/> is its entry in eng/apps.sh's table.</summary>
    internal sealed record Verdict(bool Passed, string Cell, string Detail);

    /// <summary>The rules above, for one run on <paramref name="path"/> against native's lines.</summary>
    internal static Verdict Judge(AppCase app, GuestPath path, IReadOnlyList<string> expected, RunResult run)
    {
        IReadOnlyList<string> got = app.Output.Extract(run.Stdout);
        int same = got.Zip(expected).Count(p => p.First == p.Second);
        bool identical = got.Count == expected.Count && same == got.Count;
        string unit = app.Output.Unit;

        if (run.TimedOut)
            return new(false, "HUNG", $"hung: killed after {run.Timeout.TotalSeconds:0} s ({same}/{expected.Count} {unit}s equal native)");
        if (run.ExitCode == 0)
            return identical
                ? new(true, "same", $"same as native: {Summary(app, got)}")
                : new(false, $"DIFFERS {same}/{expected.Count}{(got.Count > 0 && got.All(app.Output.IsZero) ? ", all zero" : "")}",
                      $"exit 0 but output DIFFERS: {same}/{expected.Count} {unit}s equal native; got {Summary(app, got)}, " +
                      $"native {Summary(app, expected)}");
        string how = run.Signal is { } signal ? signal : $"exit {run.ExitCode}";
        if (path != GuestPath.OursOnVirglRenderer)
            return new(false, $"FAILED {how}",
                $"failed ({how}), {same}/{expected.Count} {unit}s equal native; last stderr: {LastLine(run.Stderr)}");

        // virglrenderer 1.1.0: a clean failure at the memory export is what this host can do.
        if (run.Signal is { } crash && crash != "SIGABRT")
            return new(false, $"CRASHED {crash}", $"died of {crash} instead of failing cleanly");
        if (!run.Stderr.Contains(VirglMapRefusal, StringComparison.Ordinal))
            return new(false, $"FAILED {how}", $"failed ({how}) but not at the known memory export ('{VirglMapRefusal}' missing); " +
                                                $"last stderr: {LastLine(run.Stderr)}");
        if (same != got.Count || got.Count > expected.Count)
            return new(false, $"DIFFERS {same}/{got.Count}",
                $"failed ({how}) after printing output that DIFFERS from native: {same} of {got.Count} printed {unit}s equal native's");
        return new(true, "clean error", $"clean error: {how} at vkMapMemory (the host cannot export the memory), " +
                                        $"{Count(got.Count, unit)} printed, all equal native");
    }

    /// <summary>"3 frames: 832d54b6…, 138a9f29…, da2cac10…" (distinct values, with a count when repeated).</summary>
    public static string Summary(AppCase app, IReadOnlyList<string> lines)
    {
        if (lines.Count == 0)
            return $"no {app.Output.Unit}s";
        var parts = lines.Select(app.Output.Short).GroupBy(s => s)
            .Select(g => g.Count() > 1 ? $"{g.Key} ×{g.Count()}" : g.Key);
        return $"{Count(lines.Count, app.Output.Unit)}: {string.Join(", ", parts)}";
    }

    private static string Count(int n, string unit) => n == 1 ? $"1 {unit}" : $"{n} {unit}s";

    private static string LastLine(string text) =>
        text.TrimEnd().Split('\n') is { Length: > 0 } lines && lines[^1].Length > 0 ? lines[^1].Trim() : "(none)";
}
