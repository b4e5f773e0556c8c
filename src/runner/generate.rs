//! What a worker draws, as YCSB's generators do: the next operation, keys, records and field
//! values, from the worker's own random streams. It neither times nor logs anything (see
//! `worker` and `log`), so the same seed draws the same stream whatever is measured.

use crate::workload::{
    KeyChooser, KeySpace, LengthChooser, Operation, Rng, Workload, encode_record, write_key,
};

/// One worker's generators and the key it drew last.
pub(crate) struct Generator<'a> {
    workload: &'a Workload,
    keys: &'a KeySpace,
    /// Collections the keys spread over.
    tables: usize,
    /// Draws keys, values and lengths. How many draws a key takes can depend on how far other
    /// threads' inserts have got, so operations are drawn from a stream of their own.
    rng: Rng,
    /// Draws which operation comes next: the same seed gives each thread the same sequence of
    /// operations however the threads interleave.
    op_rng: Rng,
    key_chooser: KeyChooser,
    lengths: LengthChooser,
    scan_lengths: LengthChooser,
    /// Random printable bytes that field values are cut from, as YCSB's are printable:
    /// generating a value costs one copy.
    value_source: Vec<u8>,
    /// `field0`, `field1`, ... (with the workload's prefix).
    field_names: Vec<String>,
    /// Where in `value_source` each field of the record being built is cut from.
    field_values: Vec<std::ops::Range<usize>>,
    /// The id of the key drawn last.
    key: String,
    /// The index of its collection.
    table: usize,
}

/// What an update writes.
pub(crate) enum Update {
    /// A whole record.
    Record(Vec<u8>),
    /// One field, by number, and its new value (a range of the generator's value source).
    Field(usize, std::ops::Range<usize>),
}

impl<'a> Generator<'a> {
    /// The generators of stream `stream` of the workload's seed, over `tables` collections.
    pub(crate) fn new(
        workload: &'a Workload,
        keys: &'a KeySpace,
        tables: usize,
        stream: u64,
    ) -> Self {
        let mut rng = Rng::new(workload.seed, 2 * stream);
        let op_rng = Rng::new(workload.seed, 2 * stream + 1);
        let max_value = workload.field_length.max();
        // YCSB's RandomByteIterator: six bytes from each random 32-bit draw, each a space
        // plus 5, 6 or 7 bits of it masked by 31, 63 and 95 in turn (printable ASCII and
        // DEL). At least 64 KiB of it, so that a record's fields are not all cut from the
        // same few hundred bytes, which a compressing store would shrink unlike YCSB's.
        let source_len = (2 * max_value + 8).max(64 * 1024);
        let mut value_source = Vec::with_capacity(source_len + 6);
        while value_source.len() < source_len {
            let bits = rng.next_u64() as u32;
            for (i, mask) in [31u32, 63, 95, 31, 63, 95].into_iter().enumerate() {
                value_source.push(b' ' + ((bits >> (5 * i)) & mask) as u8);
            }
        }
        let field_names = (0..workload.field_count)
            .map(|i| format!("{}{i}", workload.field_name_prefix))
            .collect();
        Self {
            workload,
            keys,
            tables,
            rng,
            op_rng,
            key_chooser: KeyChooser::new(&workload.request_distribution, workload.key_range()),
            lengths: LengthChooser::new(&workload.field_length),
            scan_lengths: workload.scan_length.chooser(),
            value_source,
            field_names,
            field_values: Vec::new(),
            key: String::new(),
            table: 0,
        }
    }

    /// The next operation of the workload's mix.
    #[inline]
    pub(crate) fn operation(&mut self) -> Operation {
        self.workload.mix.choose(self.op_rng.unit())
    }

    /// Draws an existing key number and makes it the current key; its collection's index.
    #[inline]
    pub(crate) fn existing_key(&mut self) -> usize {
        let n = self.key_chooser.choose(&mut self.rng, self.keys);
        self.key_for(n)
    }

    /// Makes key number `n` the current key; its collection's index.
    #[inline]
    pub(crate) fn key_for(&mut self, n: u64) -> usize {
        write_key(
            self.workload.insert_order,
            self.workload.zero_padding,
            n,
            &mut self.key,
        );
        self.table = (n % self.tables as u64) as usize;
        self.table
    }

    /// Draws a collection, uniformly (a count asks one), and makes it the current one.
    #[inline]
    pub(crate) fn any_table(&mut self) -> usize {
        self.table = self.rng.below(self.tables as u64) as usize;
        self.table
    }

    /// The current key's id.
    #[inline]
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// The name of the current key's collection, as the workload names it.
    #[inline]
    pub(crate) fn table_name(&self) -> &'a str {
        let workload: &'a Workload = self.workload;
        &workload.collections[self.table]
    }

    /// Where a prefix scan's prefix of the current key ends (`scanprefixlength` characters).
    #[inline]
    pub(crate) fn prefix_end(&self) -> usize {
        self.key
            .char_indices()
            .nth(self.workload.scan_prefix_length)
            .map_or(self.key.len(), |(i, _)| i)
    }

    /// A scan's length.
    #[inline]
    pub(crate) fn scan_length(&mut self) -> usize {
        self.scan_lengths.choose(&mut self.rng)
    }

    /// A byte values are made of, for a find to look for: any other would match nothing.
    #[inline]
    pub(crate) fn value_byte(&mut self) -> u8 {
        self.value_source[self.rng.below(self.value_source.len() as u64) as usize]
    }

    /// A field for a read to ask for, when it asks for one (`readallfields = false`): drawn
    /// whether or not anything logs it, so the random stream is the same either way.
    #[inline]
    pub(crate) fn read_field(&mut self) -> Option<usize> {
        (!self.workload.read_all_fields)
            .then(|| self.rng.below(self.field_names.len() as u64) as usize)
    }

    /// The fields' names.
    #[inline]
    pub(crate) fn field_names(&self) -> &[String] {
        &self.field_names
    }

    /// The bytes of a value drawn as `range`.
    #[inline]
    pub(crate) fn value(&self, range: std::ops::Range<usize>) -> &[u8] {
        &self.value_source[range]
    }

    /// A field value of a drawn length.
    #[inline]
    fn field_value(&mut self) -> std::ops::Range<usize> {
        let len = self.lengths.choose(&mut self.rng);
        let offset = self.rng.below((self.value_source.len() - len + 1) as u64) as usize;
        offset..offset + len
    }

    /// A whole record: every field, each of a drawn length.
    pub(crate) fn record(&mut self) -> Vec<u8> {
        // The ranges go into a buffer the generator keeps: a record costs one allocation, its
        // own.
        let mut values = std::mem::take(&mut self.field_values);
        values.clear();
        for _ in 0..self.field_names.len() {
            let value = self.field_value();
            values.push(value);
        }
        let fields = self
            .field_names
            .iter()
            .zip(&values)
            .map(|(name, value)| (name.as_str(), &self.value_source[value.clone()]));
        let size = 1 + fields
            .clone()
            .map(|(n, v)| 1 + n.len() + 4 + v.len())
            .sum::<usize>();
        let mut record = Vec::with_capacity(size);
        encode_record(fields, &mut record);
        self.field_values = values;
        record
    }

    /// What an update writes (YCSB's `writeallfields`): a whole record, or one field drawn
    /// uniformly with its new value.
    pub(crate) fn update(&mut self) -> Update {
        if self.workload.write_all_fields || self.field_names.len() == 1 {
            // Replacing the only field is writing the whole record: no read needed.
            Update::Record(self.record())
        } else {
            let field = self.rng.below(self.field_names.len() as u64) as usize;
            Update::Field(field, self.field_value())
        }
    }
}
