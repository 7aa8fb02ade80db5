namespace Venus.Apps.Tests;

/// <summary>Every case of an application on every <see cref="GuestPath"/>: one test each, named by both.</summary>
public static class AppMatrix
{
    public static TheoryData<string, GuestPath> Of(IEnumerable<AppCase> cases, params GuestPath[] except)
    {
        var data = new TheoryData<string, GuestPath>();
        foreach (AppCase c in cases)
            foreach (GuestPath path in Enum.GetValues<GuestPath>())
                if (!except.Contains(path))
                    data.Add(c.Name, path);
        return data;
    }

    public static AppCase Find(IEnumerable<AppCase> cases, string name) =>
        cases.SingleOrDefault(c => c.Name == name) ?? throw new ArgumentException($"no case '{name}'", nameof(name));
}
