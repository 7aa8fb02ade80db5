using System.Reflection;

namespace Venus.Protocol;

/// <summary>
/// What <c>venus --version</c> and <c>venus-host --version</c> print: the product version (the
/// <c>Version</c> of Directory.Build.props, which eng/package.sh also gives the .deb) and the
/// protocol this build speaks.
/// </summary>
public static class VenusVersion
{
    /// <summary>The product version of the running executable (e.g. 0.1.0).</summary>
    public static string Product =>
        Assembly.GetEntryAssembly()?.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(VenusVersion).Assembly.GetName().Version?.ToString(3) ?? "unknown";

    /// <summary>Two lines: "PROGRAM VERSION" and the protocol versions.</summary>
    public static string Text(string program)
    {
        uint xml = VenusProtocolInfo.VkXmlVersion;
        return $"{program} {Product}\n" +
               $"protocol: wire format {VenusProtocolInfo.WireFormatVersion}, vk.xml {xml >> 22}.{(xml >> 12) & 0x3ff}.{xml & 0xfff}, " +
               $"VK_EXT_command_serialization spec {VenusProtocolInfo.CommandSerializationSpecVersion}, " +
               $"VK_MESA_venus_protocol spec {VenusProtocolInfo.VenusProtocolSpecVersion}, " +
               $"{VenusProtocolInfo.Extensions.Length} extensions, {VenusProtocolInfo.CommandTypeCount} command types";
    }
}
