using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// The hand-written commands have one source of truth, src/Venus.Codegen/Definitions/icd.xml: every
/// command listed there is implemented exactly once in src/Venus.GuestIcd/Families/ (a partial method of
/// IcdCommands) and entered in the generated proc table, every hook has its one vkCmdXRecorded method,
/// no family method is unlisted, and no
/// hand-kept proc-table entry exists outside Generated/. The ICD is a NativeAOT library this project
/// does not reference, so these read its sources; the compiler enforces the same pairing
/// (eng/check-families.sh shows a deleted or an unlisted family method failing the build).
/// </summary>
public sealed partial class FamilyTableTests
{
    private static readonly string Root = PeersEnvironment.FindRepoRoot();
    private static readonly string Icd = Path.Combine(Root, "src", "Venus.GuestIcd");

    [GeneratedRegex(@"^\s+internal static partial \S+ (vk\w+)\(", RegexOptions.Multiline)]
    private static partial Regex PartialMethod();

    [GeneratedRegex(@"table\[""(vk\w+)""\] = new ProcEntry\([^;]*&Entrypoints\.(vk\w+), ProcScope\.(\w+), ([^,]+), (null|""\w+"")\);")]
    private static partial Regex ProcTableEntry();

    private static List<string> Listed(string element = "handwritten") =>
        XDocument.Load(Path.Combine(Root, "src", "Venus.Codegen", "Definitions", "icd.xml"))
            .Descendants(element).Select(h => (string)h.Attribute("command")!).ToList();

    /// <summary>The suffix of a hook's method: a hooked command keeps its generated export, which calls vkCmdXRecorded after encoding.</summary>
    private const string HookSuffix = "Recorded";

    private static List<string> Implemented() =>
        Directory.GetFiles(Path.Combine(Icd, "Families"), "*.cs")
            .SelectMany(f => PartialMethod().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value)).ToList();

    private static Dictionary<string, (string Export, string Scope, string Version, string Extension)> Entries() =>
        ProcTableEntry().Matches(File.ReadAllText(Path.Combine(Icd, "Generated", "ProcTable.cs")))
            .ToDictionary(m => m.Groups[1].Value, m => (m.Groups[2].Value, m.Groups[3].Value, m.Groups[4].Value, m.Groups[5].Value.Trim('"')));

    [Fact]
    public void EveryListedCommandIsImplementedOnceAndEntered()
    {
        var listed = Listed();
        Assert.True(listed.Count > 100, $"icd.xml lists {listed.Count} hand-written commands");
        Assert.Equal(listed.Count, listed.Distinct(StringComparer.Ordinal).Count());
        var all = Implemented();
        Assert.Equal(all.Count, all.Distinct(StringComparer.Ordinal).Count());
        var implemented = all.Where(n => !n.EndsWith(HookSuffix, StringComparison.Ordinal)).ToList();
        Assert.Empty(listed.Except(implemented, StringComparer.Ordinal));
        Assert.Empty(implemented.Except(listed, StringComparer.Ordinal));
        // Hooks (<hook command=.../>): one vkCmdXRecorded each, none unlisted, and never also hand-written.
        var hooks = Listed("hook");
        var hookMethods = all.Where(n => n.EndsWith(HookSuffix, StringComparison.Ordinal)).Select(n => n[..^HookSuffix.Length]).ToList();
        Assert.Empty(hooks.Except(hookMethods, StringComparer.Ordinal));
        Assert.Empty(hookMethods.Except(hooks, StringComparer.Ordinal));
        Assert.Empty(hooks.Intersect(listed, StringComparer.Ordinal));
        var entries = Entries();
        foreach (string name in listed)
        {
            Assert.True(entries.TryGetValue(name, out var e), $"{name}: listed in icd.xml, no proc-table entry");
            Assert.Equal(name, e.Export);
        }
    }

    [Fact]
    public void NoProcTableIsKeptByHand()
    {
        foreach (string f in Directory.GetFiles(Icd, "*.cs", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(Icd, f);
            if (rel.StartsWith("Generated", StringComparison.Ordinal) || rel.StartsWith("obj", StringComparison.Ordinal) || rel.StartsWith("bin", StringComparison.Ordinal))
                continue;
            string text = File.ReadAllText(f);
            Assert.False(text.Contains("new ProcEntry(", StringComparison.Ordinal), $"{rel} builds proc-table entries by hand");
            Assert.False(text.Contains("[UnmanagedCallersOnly]\n    private static VkResult vk", StringComparison.Ordinal), $"{rel} has a hand-written export");
        }
    }

    [Theory]
    // Names, versions and extensions come from vk.xml; a WSI command that two extensions bring is named by the one that introduced it.
    [InlineData("vkAcquireNextImage2KHR", "vkAcquireNextImage2KHR", "Device", "0", "VK_KHR_swapchain")]
    [InlineData("vkGetPhysicalDeviceProperties2KHR", "vkGetPhysicalDeviceProperties2", "PhysicalDevice", "0", "VK_KHR_get_physical_device_properties2")]
    [InlineData("vkGetPhysicalDeviceProperties2", "vkGetPhysicalDeviceProperties2", "PhysicalDevice", "(1u << 22) | (1u << 12)", "null")]
    [InlineData("vkQueueSubmit2KHR", "vkQueueSubmit2", "Device", "0", "VK_KHR_synchronization2")]
    [InlineData("vkCmdPushDescriptorSet", "vkCmdPushDescriptorSet", "Device", "(1u << 22) | (4u << 12)", "null")]
    [InlineData("vkGetCalibratedTimestampsEXT", "vkGetCalibratedTimestampsKHR", "Device", "0", "VK_EXT_calibrated_timestamps")]
    [InlineData("vkCreateInstance", "vkCreateInstance", "Global", "(1u << 22) | (0u << 12)", "null")]
    public void AliasesCarryTheirExportVersionAndExtension(string name, string export, string scope, string version, string extension)
    {
        Assert.True(Entries().TryGetValue(name, out var e), name);
        Assert.Equal((export, scope, version, extension), e);
    }
}
