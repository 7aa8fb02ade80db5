using System.Text.RegularExpressions;

namespace Venus.Codegen.Tests;

/// <summary>
/// icd.xml's &lt;callring&gt;: the generated Calls of a slow synchronous command take their ring from
/// GuestRing.ForSlowCall (a call ring of a pool, Runtime/GuestRing.cs), every other call from
/// GuestRing.ForCall (the instance ring unless VENUS_PERF=thread_rings), before Enter.
/// </summary>
[Collection("generator")]
public class CallRingTests(GeneratorFixture g)
{
    SortedDictionary<string, string>? _icd;
    SortedDictionary<string, string> Icd => _icd ??= Program.GenerateIcd(g.Model);

    /// <summary>The generated Calls method of <paramref name="name"/> (signature to closing brace).</summary>
    string Call(string name)
    {
        string all = string.Concat(Icd.Where(kv => kv.Key.StartsWith("Calls", StringComparison.Ordinal)).Select(kv => kv.Value));
        var m = Regex.Match(all, $@"    public static \w+ {name}\(GuestRing ring.*?\n    }}\n", RegexOptions.Singleline);
        Assert.True(m.Success, $"no generated call of {name}");
        return m.Value;
    }

    static List<string> Lines(string code) => code.Split('\n').Select(l => l.Trim()).ToList();

    [Theory]
    [InlineData("vkCreateComputePipelines")]
    [InlineData("vkCreateGraphicsPipelines")]
    [InlineData("vkCreateRayTracingPipelinesKHR")]
    [InlineData("vkGetPipelineCacheData")]
    public void ASlowCallTakesACallRingBeforeItEnters(string name)
    {
        var lines = Lines(Call(name));
        int take = lines.IndexOf("ring = ring.ForSlowCall();");
        int enter = lines.IndexOf("ring.Enter();");
        Assert.True(take > 0 && enter == take + 1, Call(name));
        Assert.Contains(name, g.Model.Reg.IcdCallRing);
    }

    [Theory]
    [InlineData("vkAllocateMemory")]
    [InlineData("vkGetDescriptorSetLayoutSupport")]
    [InlineData("vkCreatePipelineCache")]
    public void AnyOtherCallStaysOnTheRingItIsGiven(string name)
    {
        var lines = Lines(Call(name));
        int take = lines.IndexOf("ring = ring.ForCall();");
        Assert.True(take > 0 && lines[take + 1] == "ring.Enter();", Call(name));
        Assert.DoesNotContain("ForSlowCall", Call(name));
    }
}
