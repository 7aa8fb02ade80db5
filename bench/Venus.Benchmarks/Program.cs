using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using Venus.Benchmarks;

// --verify: round-trip + zero-allocation sanity check without BenchmarkDotNet (exit code 0 = pass).
if (args.Contains("--verify"))
    return Verify.Run();

// Benchmarks run in this process (BenchmarkDotNet's InProcessEmitToolchain) unless --out-of-process
// is given. Out of process, BenchmarkDotNet generates a project and rebuilds Venus.Protocol from
// scratch without the compiler server: ~2 minutes of compiling on a 2-core machine before the first
// benchmark, past its default 120 s build timeout, so that mode gets a longer one.
var bdnArgs = new List<string>(args.Where(a => a != "--out-of-process"));
if (args.Contains("--out-of-process"))
{
    if (!bdnArgs.Contains("--buildTimeout")) bdnArgs.AddRange(["--buildTimeout", "900"]);
}
else if (!bdnArgs.Contains("--inProcess") && !bdnArgs.Contains("-i"))
{
    bdnArgs.Add("--inProcess");
}

var config = DefaultConfig.Instance.WithOptions(ConfigOptions.JoinSummary);
var summaries = BenchmarkSwitcher.FromAssembly(typeof(EncodeBenchmarks).Assembly).Run(bdnArgs.ToArray(), config);
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
