using System.Text.RegularExpressions;

namespace Venus.Layout.Tests;

/// <summary>One member of a C struct or union; <see cref="BitWidth"/> is set for a bit-field.</summary>
public sealed record CMember(string Name, string Declaration, int? BitWidth)
{
    public bool IsBitField => BitWidth is not null;
}

/// <summary>A <c>typedef struct|union Name { ... } Name;</c> declaration.</summary>
public sealed record CStructDecl(string Name, bool IsUnion, IReadOnlyList<CMember> Members);

/// <summary>
/// The struct and union typedefs of a C text in the form the Vulkan headers use (one member per line),
/// e.g. the output of <c>gcc -E -P</c> on <c>#include &lt;vulkan/vulkan.h&gt;</c>. It only names the
/// members (which C# fields map to which C members, and which are bit-fields); every size and offset
/// is measured by gcc itself.
/// </summary>
public sealed partial class CDeclarations
{
    private readonly Dictionary<string, CStructDecl> _structs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _aliases = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, CStructDecl> Structs => _structs;

    /// <summary><c>typedef VkFoo VkFooKHR;</c> where VkFoo is a struct: alias → struct name.</summary>
    public IReadOnlyDictionary<string, string> Aliases => _aliases;

    /// <summary>The declaration a struct name (or an alias of one) refers to, or null.</summary>
    public CStructDecl? Find(string name)
    {
        if (_structs.TryGetValue(name, out CStructDecl? decl))
            return decl;
        return _aliases.TryGetValue(name, out string? target) ? _structs.GetValueOrDefault(target) : null;
    }

    public static CDeclarations Parse(string text)
    {
        var result = new CDeclarations();
        result.Add(text);
        return result;
    }

    /// <summary>Adds the declarations of another C text (e.g. hand-written ones).</summary>
    public void Add(string text)
    {
        string[] lines = text.Replace("\r\n", "\n").Split('\n');
        var pendingAliases = new List<(string Target, string Alias)>();
        for (int i = 0; i < lines.Length; i++)
        {
            Match open = OpenRegex().Match(lines[i]);
            if (!open.Success)
            {
                Match alias = AliasRegex().Match(lines[i]);
                if (alias.Success)
                    pendingAliases.Add((alias.Groups[1].Value, alias.Groups[2].Value));
                continue;
            }

            string tag = open.Groups["tag"].Value;
            bool isUnion = open.Groups["kind"].Value == "union";
            var members = new List<CMember>();
            int j = i + 1;
            for (; j < lines.Length; j++)
            {
                Match close = CloseRegex().Match(lines[j]);
                if (close.Success)
                {
                    string name = close.Groups[1].Value;
                    if (name != tag)
                        throw new FormatException($"line {j + 1}: '{lines[j].Trim()}' closes 'typedef {open.Groups["kind"].Value} {tag}'");
                    break;
                }
                string line = StripComment(lines[j]).Trim();
                if (line.Length == 0)
                    continue;
                Match member = MemberRegex().Match(line);
                if (!member.Success)
                    throw new FormatException($"line {j + 1}: cannot read member '{line}' of {tag}");
                int? width = member.Groups["bits"].Success ? int.Parse(member.Groups["bits"].Value) : null;
                members.Add(new CMember(member.Groups["name"].Value, line, width));
            }
            if (j == lines.Length)
                throw new FormatException($"typedef {tag} opened on line {i + 1} is never closed");
            _structs[tag] = new CStructDecl(tag, isUnion, members);
            i = j;
        }
        foreach ((string target, string alias) in pendingAliases)
        {
            if (_structs.ContainsKey(target))
                _aliases[alias] = target;
        }
    }

    private static string StripComment(string line)
    {
        int at = line.IndexOf("//", StringComparison.Ordinal);
        line = at >= 0 ? line[..at] : line;
        return CommentRegex().Replace(line, " ");
    }

    [GeneratedRegex(@"^typedef\s+(?<kind>struct|union)\s+(?<tag>\w+)\s*\{\s*$")]
    private static partial Regex OpenRegex();

    [GeneratedRegex(@"^\}\s*(\w+)\s*;\s*$")]
    private static partial Regex CloseRegex();

    [GeneratedRegex(@"^typedef\s+(\w+)\s+(\w+)\s*;\s*$")]
    private static partial Regex AliasRegex();

    [GeneratedRegex(@"/\*.*?\*/")]
    private static partial Regex CommentRegex();

    // "const void* pNext;", "char deviceName[256U];", "uint32_t mask:8;", "PFN_vkVoidFunction pfn;"
    [GeneratedRegex(@"^(?<type>[\w\s\*]*?[\w\*])\s*\b(?<name>\w+)\s*(\[[^\]]+\]\s*)*(:\s*(?<bits>\d+))?\s*;$")]
    private static partial Regex MemberRegex();
}
