using System.Reflection;
using Venus.Protocol.Vulkan;

namespace Venus.TestSupport;

/// <summary>The generated native structs of Venus.Protocol, for tests that build pNext chains of them.</summary>
public static class ProtocolStructs
{
    /// <summary>Native struct type of each sType, from the generated structs' SType constants.</summary>
    public static readonly IReadOnlyDictionary<int, Type> BySType = typeof(VkDeviceCreateInfo).Assembly.GetTypes()
        .Where(t => t.IsValueType && t.Namespace == typeof(VkDeviceCreateInfo).Namespace)
        .Select(t => (t, f: t.GetField("SType", BindingFlags.Public | BindingFlags.Static)))
        .Where(x => x.f is { IsLiteral: true })
        .GroupBy(x => (int)x.f!.GetRawConstantValue()!)
        .ToDictionary(g => g.Key, g => g.First().t);
}
