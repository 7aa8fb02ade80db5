namespace Venus.GuestIcd.Runtime;

/// <summary>One command an extension brings, and the vk.xml <c>depends</c> it needs besides the extension (null: none).</summary>
internal readonly record struct ExtensionCommand(string Extension, string Command, string? Depends);

/// <summary>
/// Which of the candidate device extensions this driver implements completely: every command the
/// extension brings must have an entry point, except the commands of require blocks whose
/// dependency can never hold on this driver (vkAcquireNextImage2KHR of VK_KHR_device_group needs
/// VK_KHR_swapchain, which is not offered). Dependencies are judged against the extensions that
/// stay offered, the device's Vulkan version and the driver's instance extensions, so dropping one
/// extension can drop another whose commands depend on it: repeated until nothing changes.
/// </summary>
internal static class ExtensionFilter
{
    /// <summary>
    /// Removes from <paramref name="offered"/> every extension with a command that applies but has no
    /// entry point (<paramref name="hasEntryPoint"/>); <paramref name="dropped"/> says which and why.
    /// </summary>
    public static void Apply(HashSet<string> offered, IEnumerable<ExtensionCommand> commands, Func<string, bool> hasEntryPoint,
        uint apiVersion, IReadOnlySet<string> instanceExtensions, List<(string Extension, string Why)> dropped)
    {
        var missing = new List<ExtensionCommand>();
        var withCommands = new HashSet<string>(StringComparer.Ordinal);
        foreach (ExtensionCommand c in commands)
        {
            withCommands.Add(c.Extension);
            if (offered.Contains(c.Extension) && !hasEntryPoint(c.Command))
                missing.Add(c);
        }

        bool Holds(string name) => name.StartsWith("VK_VERSION_", StringComparison.Ordinal)
            ? VersionHolds(name, apiVersion)
            : offered.Contains(name) || instanceExtensions.Contains(name);

        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (ExtensionCommand c in missing)
            {
                if (!offered.Contains(c.Extension))
                    continue;
                if (c.Depends is not null && !Evaluate(c.Depends, Holds))
                    continue;
                // A command that exists only with another device extension which brings no commands of
                // its own (EDS3's vkCmdSetCoverageModulation*NV with VK_NV_framebuffer_mixed_samples, a
                // properties-only extension): leaving that one out keeps the larger extension whole.
                // Only for extensions the protocol covers: for those, `commands` lists every command.
                if (c.Depends is { } dep && offered.Contains(dep) && !withCommands.Contains(dep) && Covered.Contains(dep))
                {
                    offered.Remove(dep);
                    dropped.Add((dep, $"{c.Command} of {c.Extension} (which stays) needs it and has no entry point"));
                    changed = true;
                    continue;
                }
                offered.Remove(c.Extension);
                dropped.Add((c.Extension, c.Depends is null
                    ? $"{c.Command} has no entry point"
                    : $"{c.Command} (needed with {c.Depends}) has no entry point"));
                changed = true;
            }
        }
    }

    private static readonly HashSet<string> Covered =
        new(Venus.Protocol.VenusProtocolInfo.Extensions.Select(x => x.Name), StringComparer.Ordinal);

    private static bool VersionHolds(string name, uint apiVersion)
    {
        // VK_VERSION_<major>_<minor>
        string[] parts = name["VK_VERSION_".Length..].Split('_');
        if (parts.Length != 2 || !uint.TryParse(parts[0], out uint major) || !uint.TryParse(parts[1], out uint minor))
            return false;
        uint wanted = (major << 22) | (minor << 12);
        return (apiVersion & ~0xfffu) >= wanted;
    }

    /// <summary>
    /// A vk.xml dependency expression: names, ',' (or), '+' (and), parentheses; ',' and '+' have the
    /// same precedence and group from the left (vk.xml parenthesizes where it matters). A feature
    /// term (<c>VkStruct::member</c>) counts as met: the command might be needed.
    /// </summary>
    public static bool Evaluate(string expression, Func<string, bool> holds)
    {
        int at = 0;
        bool value = Expression(expression, ref at, holds);
        if (at != expression.Length)
            throw new FormatException($"unexpected '{expression[at]}' at {at} in '{expression}'");
        return value;
    }

    private static bool Expression(string s, ref int at, Func<string, bool> holds)
    {
        bool value = Term(s, ref at, holds);
        while (at < s.Length && s[at] is ',' or '+')
        {
            char op = s[at++];
            bool right = Term(s, ref at, holds);
            value = op == ',' ? value || right : value && right;
        }
        return value;
    }

    private static bool Term(string s, ref int at, Func<string, bool> holds)
    {
        if (at < s.Length && s[at] == '(')
        {
            at++;
            bool inner = Expression(s, ref at, holds);
            if (at >= s.Length || s[at] != ')')
                throw new FormatException($"missing ')' in '{s}'");
            at++;
            return inner;
        }
        int start = at;
        while (at < s.Length && s[at] is not (',' or '+' or '(' or ')'))
            at++;
        if (at == start)
            throw new FormatException($"empty term at {start} in '{s}'");
        string name = s[start..at];
        return name.Contains("::", StringComparison.Ordinal) || holds(name);
    }
}
